; bitops.asm: bit test and bit scan instructions.
;
; BT / BTS / BTR / BTC (SDM Vol. 2A "BT-Bit Test", Vol. 2A "BTC-Bit Test and
; Complement", "BTR-Bit Test and Reset", "BTS-Bit Test and Set"):
;   - CF = the selected bit (before it is modified); ZF unaffected (checked with
;     ZF preset both ways); OF SF AF PF undefined (not checked).
;   - register destination: the bit offset (register or imm8) is taken modulo
;     the operand size (16 or 32).
;   - memory destination, imm8 offset: masked to the operand size (no address
;     displacement: imm8 17 on a word selects bit 1 of that same word).
;   - memory destination, register offset: the offset is a SIGNED 16-bit (o16) or
;     32-bit (o32) integer; the word/dword addressed is
;     EA + 2*(offset SAR 4) (o16) or EA + 4*(offset SAR 5) (o32), bit
;     offset AND 15 / AND 31 in it (BT page text, and the Bit(BitBase, BitOffset)
;     function of Vol. 2A 3.1.1.9 "Operation Section", Figures 3-2 and 3-3): positive,
;     negative and large offsets, in real mode and in 32-bit protected mode.
;   - BTS/BTR/BTC write the modified bit back, neighbouring words untouched.
; BSF / BSR (SDM Vol. 2A "BSF-Bit Scan Forward", "BSR-Bit Scan Reverse"):
;   - destination = index of the lowest / highest set bit, ZF=0.
;   - source 0 (including a 16-bit source whose register's upper half is non-zero):
;     ZF=1, destination undefined (not checked). CF OF SF AF PF undefined (not checked).
;   - register and memory sources, 16- and 32-bit operand size.
%include "rom.inc"

BT_MASK equ FL_CF|FL_ZF

CODE16
main:
    PRINT "bitops: real mode", 10
    INSTALL_RM_HANDLERS
    mov ax, 0x1000              ; ES -> data at linear 0x10000
    mov es, ax

    ; ---- BT/BTS/BTR/BTC, 16-bit register destination ----
    mov ax, 0x8001
    SETF16 FL_ZF
    bt ax, 15
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "bt ax,15: CF=1 ZF kept 1"
    SETF16 FL_CF
    bt ax, 14
    CHECK_FLAGS BT_MASK, 0, "bt ax,14: CF=0 ZF kept 0"
    mov ax, 0x0002
    SETF16 0
    bt ax, 17                   ; imm8 17 mod 16 = 1
    CHECK_FLAGS BT_MASK, FL_CF, "bt ax,17 (mod 16)"
    mov cx, 0x0011              ; 17 mod 16 = 1
    SETF16 FL_ZF
    bt ax, cx
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "bt ax,cx=17"
    mov cx, 0xfff0              ; mod 16 = 0 (bit 0 of 0x0002 clear)
    SETF16 FL_CF
    bt ax, cx
    CHECK_FLAGS BT_MASK, 0, "bt ax,cx=0xfff0"
    CHECK16 ax, 0x0002, "bt does not write"

    xor ax, ax
    mov cx, 0x0023              ; 35 mod 16 = 3
    SETF16 FL_CF|FL_ZF
    bts ax, cx
    CHECK_FLAGS BT_MASK, FL_ZF, "bts ax,cx: CF=0"
    CHECK16 ax, 0x0008, "bts ax,cx result"
    SETF16 0
    bts ax, 3
    CHECK_FLAGS BT_MASK, FL_CF, "bts ax,3 again: CF=1"
    CHECK16 ax, 0x0008, "bts ax,3 again result"

    mov ax, 0xffff
    SETF16 FL_ZF
    btr ax, 4
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "btr ax,4: CF=1"
    CHECK16 ax, 0xffef, "btr ax,4 result"
    mov cx, 0x0014              ; 20 mod 16 = 4: already clear
    SETF16 FL_CF
    btr ax, cx
    CHECK_FLAGS BT_MASK, 0, "btr ax,cx=20: CF=0"
    CHECK16 ax, 0xffef, "btr ax,cx=20 result"

    mov ax, 0x00f0
    mov cx, 4
    SETF16 0
    btc ax, cx
    CHECK_FLAGS BT_MASK, FL_CF, "btc ax,cx=4: CF=1"
    CHECK16 ax, 0x00e0, "btc ax,cx=4 result"
    mov cx, 0x0108              ; 264 mod 16 = 8
    SETF16 FL_CF|FL_ZF
    btc ax, cx
    CHECK_FLAGS BT_MASK, FL_ZF, "btc ax,cx=0x108: CF=0"
    CHECK16 ax, 0x01e0, "btc ax,cx=0x108 result"
    SETF16 0
    btc ax, 0x18                ; imm 24 mod 16 = 8
    CHECK_FLAGS BT_MASK, FL_CF, "btc ax,24: CF=1"
    CHECK16 ax, 0x00e0, "btc ax,24 result"

    ; ---- 32-bit register destination (o32 in real mode) ----
    mov eax, 0x80000000
    SETF32 0
    bt eax, 31
    CHECK_FLAGS BT_MASK, FL_CF, "bt eax,31"
    SETF32 FL_CF|FL_ZF
    bt eax, 63                  ; imm 63 mod 32 = 31
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "bt eax,63 (mod 32)"
    SETF32 FL_CF
    bt eax, 15
    CHECK_FLAGS BT_MASK, 0, "bt eax,15"
    xor eax, eax
    mov ecx, 0x40               ; 64 mod 32 = 0
    SETF32 FL_CF
    bts eax, ecx
    CHECK_FLAGS BT_MASK, 0, "bts eax,ecx=64: CF=0"
    CHECK32 eax, 1, "bts eax,ecx=64 result"
    mov eax, 0x80000001
    mov ecx, 0xffffffff         ; mod 32 = 31
    SETF32 FL_ZF
    btr eax, ecx
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "btr eax,ecx=-1: CF=1"
    CHECK32 eax, 1, "btr eax,ecx=-1 result"
    mov eax, 0x12345678
    SETF32 FL_CF
    btc eax, 16
    CHECK_FLAGS BT_MASK, 0, "btc eax,16: CF=0"
    CHECK32 eax, 0x12355678, "btc eax,16 result"
    mov ecx, 0x20000010         ; mod 32 = 16
    SETF32 0
    btc eax, ecx
    CHECK_FLAGS BT_MASK, FL_CF, "btc eax,ecx: CF=1"
    CHECK32 eax, 0x12345678, "btc eax,ecx result"

    ; ---- memory destination, imm8 offset (masked, no displacement) ----
    ; data: word at es:0x100 = 0x0008, es:0x102 = 0x0000
    mov dword [es:0x100], 0x00000008
    SETF16 0
    bt word [es:0x100], 3
    CHECK_FLAGS BT_MASK, FL_CF, "bt word [m],3"
    SETF16 FL_CF|FL_ZF
    bts word [es:0x100], 0x14   ; 20 mod 16 = 4
    CHECK_FLAGS BT_MASK, FL_ZF, "bts word [m],20: CF=0"
    CHECK32 [es:0x100], 0x00000018, "bts word [m],20 result (same word)"
    SETF32 0
    btr dword [es:0x100], 0x23  ; 35 mod 32 = 3
    CHECK_FLAGS BT_MASK, FL_CF, "btr dword [m],35: CF=1"
    CHECK32 [es:0x100], 0x00000010, "btr dword [m],35 result"

    ; ---- memory destination, 16-bit register offset (signed) ----
    ; area es:0xf0..0x10f zeroed except where set
    mov bx, 0xf0
    xor eax, eax
.z1: mov [es:bx], eax
    add bx, 4
    cmp bx, 0x110
    jb .z1
    mov word [es:0x102], 0x0008  ; bit 3 of the word after EA
    mov bx, 0x100
    mov ax, 0x0013              ; 19: word EA+2, bit 3
    SETF16 0
    bt word [es:bx], ax
    CHECK_FLAGS BT_MASK, FL_CF, "bt word [bx],ax=19"
    mov ax, 0x0003              ; bit 3 of EA itself is clear
    SETF16 FL_CF
    bt word [es:bx], ax
    CHECK_FLAGS BT_MASK, 0, "bt word [bx],ax=3"
    mov ax, 0xffff              ; -1: word EA-2, bit 15
    SETF16 FL_ZF
    bts word [es:bx], ax
    CHECK_FLAGS BT_MASK, FL_ZF, "bts word [bx],ax=-1: CF=0"
    CHECK32 [es:0xfc], 0x80000000, "bts word [bx],-1 sets bit 15 of word at EA-2"
    CHECK32 [es:0x100], 0x00080000, "bts word [bx],-1 leaves EA untouched"
    mov ax, 0xffef              ; -17: word EA-4, bit 15
    mov word [es:0xfc], 0xffff
    SETF16 0
    btr word [es:bx], ax
    CHECK_FLAGS BT_MASK, FL_CF, "btr word [bx],ax=-17: CF=1"
    CHECK32 [es:0xfc], 0x80007fff, "btr word [bx],-17 clears bit 15 of word at EA-4"
    mov ax, 0x0025              ; 37: word EA+4, bit 5
    SETF16 FL_CF|FL_ZF
    btc word [es:bx], ax
    CHECK_FLAGS BT_MASK, FL_ZF, "btc word [bx],ax=37: CF=0"
    CHECK32 [es:0x104], 0x00000020, "btc word [bx],37 result"
    mov ax, 0x7fff              ; largest: word EA+0xffe, bit 15
    mov word [es:0x10fe], 0x8000
    SETF16 FL_ZF
    btc word [es:bx], ax
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "btc word [bx],ax=0x7fff: CF=1"
    CHECK16 [es:0x10fe], 0x0000, "btc word [bx],0x7fff result"

    ; ---- memory destination, 32-bit register offset (o32, a16) ----
    mov dword [es:0x108], 0x00000020
    mov eax, 0x45               ; 69: dword EA+8, bit 5
    SETF32 0
    bt dword [es:bx], eax
    CHECK_FLAGS BT_MASK, FL_CF, "bt dword [bx],eax=69"
    mov eax, 0xffffffff         ; -1: dword EA-4, bit 31
    SETF32 FL_CF
    bts dword [es:bx], eax
    CHECK_FLAGS BT_MASK, FL_CF, "bts dword [bx],eax=-1: CF=1 (bit 31 of EA-4 set)"
    CHECK32 [es:0xfc], 0x80007fff, "bts dword [bx],-1 result"
    mov eax, 0xffffffdf         ; -33: dword EA-8, bit 31
    mov dword [es:0xf8], 0x80000001
    SETF32 FL_ZF
    btr dword [es:bx], eax
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "btr dword [bx],eax=-33: CF=1"
    CHECK32 [es:0xf8], 0x00000001, "btr dword [bx],-33 result"
    mov eax, 0x400              ; 1024: dword EA+0x80, bit 0
    mov dword [es:0x180], 0xfffffffe
    SETF32 FL_CF
    btc dword [es:bx], eax
    CHECK_FLAGS BT_MASK, 0, "btc dword [bx],eax=0x400: CF=0"
    CHECK32 [es:0x180], 0xffffffff, "btc dword [bx],0x400 result"

    ; ---- BSF / BSR, 16-bit ----
    mov bx, 0x0100
    SETF16 FL_ZF
    bsf ax, bx
    CHECK_FLAGS FL_ZF, 0, "bsf ax,0x100: ZF=0"
    CHECK16 ax, 8, "bsf ax,0x100"
    mov bx, 0x8101
    bsr ax, bx
    CHECK_FLAGS FL_ZF, 0, "bsr ax,0x8101: ZF=0"
    CHECK16 ax, 15, "bsr ax,0x8101"
    bsf ax, bx
    CHECK16 ax, 0, "bsf ax,0x8101"
    mov ebx, 0x00010000         ; 16-bit source is 0
    SETF16 0
    bsf ax, bx
    CHECK_FLAGS FL_ZF, FL_ZF, "bsf ax,bx=0: ZF=1"
    SETF16 0
    bsr ax, bx
    CHECK_FLAGS FL_ZF, FL_ZF, "bsr ax,bx=0: ZF=1"
    mov word [es:0x200], 0x0c00
    SETF16 FL_ZF
    bsr cx, [es:0x200]
    CHECK_FLAGS FL_ZF, 0, "bsr cx,[m16]: ZF=0"
    CHECK16 cx, 11, "bsr cx,[m16]=0x0c00"
    bsf cx, [es:0x200]
    CHECK16 cx, 10, "bsf cx,[m16]=0x0c00"
    mov word [es:0x200], 0
    SETF16 0
    bsf cx, [es:0x200]
    CHECK_FLAGS FL_ZF, FL_ZF, "bsf cx,[m16]=0: ZF=1"

    ; ---- BSF / BSR, 32-bit ----
    mov ebx, 0x80000000
    SETF32 FL_ZF
    bsf eax, ebx
    CHECK_FLAGS FL_ZF, 0, "bsf eax,0x80000000: ZF=0"
    CHECK32 eax, 31, "bsf eax,0x80000000"
    mov ebx, 0x00000001
    bsr eax, ebx
    CHECK32 eax, 0, "bsr eax,1"
    mov ebx, 0xffffffff
    bsf eax, ebx
    CHECK32 eax, 0, "bsf eax,-1"
    bsr eax, ebx
    CHECK32 eax, 31, "bsr eax,-1"
    mov dword [es:0x204], 0x00410000
    SETF32 FL_ZF
    bsr ecx, [es:0x204]
    CHECK_FLAGS FL_ZF, 0, "bsr ecx,[m32]: ZF=0"
    CHECK32 ecx, 22, "bsr ecx,[m32]=0x410000"
    bsf ecx, [es:0x204]
    CHECK32 ecx, 16, "bsf ecx,[m32]=0x410000"
    xor ebx, ebx
    SETF32 0
    bsr eax, ebx
    CHECK_FLAGS FL_ZF, FL_ZF, "bsr eax,0: ZF=1"
    SETF32 0
    bsf eax, ebx
    CHECK_FLAGS FL_ZF, FL_ZF, "bsf eax,0: ZF=1"

    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "bitops: protected mode", 10
    ; data area at 0x30000 (zeroed around the spots used)
    mov ebx, 0x30000
    xor eax, eax
    mov [ebx-0x10000], eax
    mov [ebx-4], eax
    mov [ebx], eax
    mov [ebx+4], eax
    mov [ebx+0x10000], eax
    mov [ebx-0x1000], eax

    ; ---- register forms ----
    mov eax, 0x00010000
    mov ecx, 0x30               ; 48 mod 32 = 16
    SETF32 FL_ZF
    bt eax, ecx
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "pm: bt eax,ecx=48"
    mov cx, 0x21                ; o16: 33 mod 16 = 1
    mov ax, 0x0001
    SETF32 FL_CF
    bts ax, cx
    CHECK_FLAGS BT_MASK, 0, "pm: bts ax,cx=33: CF=0"
    CHECK32 eax, 0x00010003, "pm: bts ax,cx=33 result (upper half kept)"

    ; ---- memory, 32-bit register offset ----
    mov dword [ebx+0x10000], 0x00000004
    mov eax, 0x00080002         ; +0x10000 bytes, bit 2
    SETF32 0
    bt dword [ebx], eax
    CHECK_FLAGS BT_MASK, FL_CF, "pm: bt dword [ebx],eax=0x80002"
    mov eax, 0xfff80007         ; -0x10000 bytes, bit 7
    SETF32 FL_CF|FL_ZF
    bts dword [ebx], eax
    CHECK_FLAGS BT_MASK, FL_ZF, "pm: bts dword [ebx],eax=-0x7fff9: CF=0"
    CHECK32 [ebx-0x10000], 0x00000080, "pm: bts dword [ebx],-0x7fff9 result"
    mov eax, 0xffffffe0         ; -32: dword EA-4, bit 0
    mov dword [ebx-4], 0x00000001
    SETF32 FL_ZF
    btc dword [ebx], eax
    CHECK_FLAGS BT_MASK, FL_CF|FL_ZF, "pm: btc dword [ebx],eax=-32: CF=1"
    CHECK32 [ebx-4], 0, "pm: btc dword [ebx],-32 result"
    CHECK32 [ebx], 0, "pm: btc dword [ebx],-32 leaves EA untouched"
    ; ---- memory, 16-bit register offset in 32-bit code ----
    mov dword [ebx-0x1000], 0x00000001
    mov eax, 0x12348000         ; o16 offset is AX = -32768: word EA-0x1000, bit 0
    SETF32 0
    btr word [ebx], ax
    CHECK_FLAGS BT_MASK, FL_CF, "pm: btr word [ebx],ax=0x8000: CF=1"
    CHECK32 [ebx-0x1000], 0, "pm: btr word [ebx],0x8000 result"
    ; ---- memory, imm8 masked ----
    mov dword [ebx], 0x00010000
    SETF32 0
    bt dword [ebx], 0x30        ; 48 mod 32 = 16
    CHECK_FLAGS BT_MASK, FL_CF, "pm: bt dword [ebx],48"
    SETF32 FL_CF
    btc word [ebx+2], 0x10      ; 16 mod 16 = 0 of word at ebx+2
    CHECK_FLAGS BT_MASK, FL_CF, "pm: btc word [ebx+2],16: CF=1"
    CHECK32 [ebx], 0, "pm: btc word [ebx+2],16 result"

    ; ---- BSF / BSR ----
    mov dword [ebx], 0x00000300
    SETF32 FL_ZF
    bsf esi, [ebx]
    CHECK_FLAGS FL_ZF, 0, "pm: bsf esi,[m32]: ZF=0"
    CHECK32 esi, 8, "pm: bsf esi,[m32]=0x300"
    bsr si, [ebx]
    CHECK16 si, 9, "pm: bsr si,[m16]=0x300"
    mov dword [ebx], 0
    SETF32 0
    bsr esi, [ebx]
    CHECK_FLAGS FL_ZF, FL_ZF, "pm: bsr esi,[m32]=0: ZF=1"
    PASS

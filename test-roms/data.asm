; data.asm: data movement instructions.
;
; MOV (SDM Vol. 2B "MOV-Move"): every encoding 88 89 8A 8B (register and memory
;   forms, high-byte registers), B0+r B8+r, C6/C7 (register and memory), A0-A3 moffs
;   (16-bit offset, 32-bit offset with 0x67, segment override), 8C/8E segment
;   registers; MOV leaves the flags alone. Default segments of the addressing forms
;   used ([bp..] and [esp]/[ebp..] use SS, the rest DS; Vol. 1 3.7.4 / Table 3-5).
;   MOV Sreg,r/m (real mode: base = selector*16, verified through a memory read);
;   MOV m16,Sreg with 0x66 still stores 16 bits ("r16/r32/m16"); MOV r32,Sreg:
;   only the low 16 bits are checked (upper half undefined before P6);
;   MOV CS,r/m -> #UD with IP at the instruction.
; MOVZX / MOVSX (Vol. 2B "MOVZX", "MOVSX"): 8->16, 8->32, 16->32, register (incl. AH)
;   and memory sources; 16-bit destination keeps the upper half of the register.
; XCHG (Vol. 2B "XCHG"): 90+r short forms, 86/87 register-register and
;   register-memory, 8/16/32 bits.
; LEA (Vol. 2A "LEA", Table 3-54): all four operand-size x address-size
;   combinations (16-bit EA wraps at 64 KiB and is zero-extended for o32; a 32-bit EA
;   is truncated for o16), SIB forms, segment override ignored; LEA with a register
;   source -> #UD.
; XLAT (Vol. 2B "XLAT/XLATB"): AL = [seg:(E)BX + zero-extended AL], 16-bit address
;   wraps at 64 KiB and ignores the upper half of EBX; 32-bit address; segment override.
; LAHF / SAHF (Vol. 2A "LAHF", Vol. 2B "SAHF"): AH = SF:ZF:0:AF:0:PF:1:CF;
;   SAHF loads SF ZF AF PF CF only (OF untouched, bits 1 3 5 as fixed).
; CBW / CWDE / CWD / CDQ (Vol. 2A "CBW/CWDE/CDQE", "CWD/CDQ/CQO"): positive and
;   negative values, untouched upper halves.
; BSWAP (Vol. 2A "BSWAP"): 32-bit register (16-bit form is undefined: not tested).
; LDS LES LFS LGS LSS (Vol. 2A "LDS/LES/LFS/LGS/LSS") in real mode: 16- and 32-bit
;   offsets, segment loaded from the following word, new segment used; register
;   source -> #UD.
%include "rom.inc"

CODE16
main:
    PRINT "data: real mode", 10
    INSTALL_RM_HANDLERS
    mov ax, 0x1000              ; ES -> linear 0x10000 (data); DS stays 0
    mov es, ax
    xor bx, bx
    xor eax, eax
.clr:
    mov [es:bx], eax
    add bx, 4
    cmp bx, 0x200
    jb .clr

    ; ---- MOV register forms ----
    mov eax, 0x11223344
    mov ebx, 0xaabbccdd
    SETF16 FL_ARITH
    mov bl, ah                  ; 88 /r
    CHECK_FLAGS FL_ARITH, FL_ARITH, "mov leaves flags (set)"
    CHECK32 ebx, 0xaabbcc33, "mov bl,ah (88)"
    SETF16 0
    db 0x8a, 0xf8               ; mov bh,al (8A /r)
    CHECK_FLAGS FL_ARITH, 0, "mov leaves flags (clear)"
    CHECK32 ebx, 0xaabb4433, "mov bh,al (8a)"
    mov ecx, 0xffffffff
    mov cx, bx                  ; 89 /r
    CHECK32 ecx, 0xffff4433, "mov cx,bx (89)"
    db 0x8b, 0xc8               ; mov cx,ax (8B /r)
    CHECK32 ecx, 0xffff3344, "mov cx,ax (8b)"
    db 0x66, 0x8b, 0xf0         ; mov esi,eax (8B /r)
    CHECK32 esi, 0x11223344, "mov esi,eax (8b)"
    mov edi, esi                ; 89 /r
    CHECK32 edi, 0x11223344, "mov edi,esi (89)"

    ; ---- MOV immediates ----
    mov ah, 0x5a                ; B4
    CHECK32 eax, 0x11225a44, "mov ah,imm (b4)"
    mov bp, 0x1234              ; BD
    CHECK16 bp, 0x1234, "mov bp,imm16 (bd)"
    mov edi, 0x89abcdef         ; 66 BF
    CHECK32 edi, 0x89abcdef, "mov edi,imm32 (bf)"
    mov edi, 0xffffffff
    mov di, 0x1234              ; BF
    CHECK32 edi, 0xffff1234, "mov di,imm16 keeps upper half"
    db 0xc6, 0xc3, 0x77         ; mov bl,0x77 (C6 /0, register form)
    CHECK32 ebx, 0xaabb4477, "mov bl,imm (c6 /0 reg)"
    db 0xc7, 0xc1, 0x34, 0x12   ; mov cx,0x1234 (C7 /0, register form)
    CHECK32 ecx, 0xffff1234, "mov cx,imm (c7 /0 reg)"
    db 0x66, 0xc7, 0xc1, 0x78, 0x56, 0x34, 0x12 ; mov ecx,0x12345678
    CHECK32 ecx, 0x12345678, "mov ecx,imm (c7 /0 reg)"

    ; ---- MOV memory forms ----
    mov eax, 0x11223344
    mov [es:0x10], al           ; 88
    mov [es:0x12], cx           ; 89 (0x5678)
    mov [es:0x14], eax          ; 89
    CHECK32 [es:0x10], 0x56780044, "mov m8/m16 stores"
    CHECK32 [es:0x14], 0x11223344, "mov m32 store"
    mov bx, 0x10
    mov si, 2
    mov ch, [es:bx+si]          ; 8A (0x78)
    mov di, [es:bx+si+2]        ; 8B (0x3344)
    mov ebp, [es:bx+4]          ; 8B
    CHECK32 ecx, 0x12347878, "mov ch,[bx+si]"
    CHECK32 edi, 0xffff3344, "mov di,[bx+si+2]"
    CHECK32 ebp, 0x11223344, "mov ebp,[bx+4]"
    mov byte [es:0x20], 0x9c    ; C6
    mov word [es:0x22], 0xbeef  ; C7
    mov dword [es:0x24], 0xdeadbeef
    CHECK32 [es:0x20], 0xbeef009c, "mov m8/m16,imm"
    CHECK32 [es:0x24], 0xdeadbeef, "mov m32,imm"

    ; ---- default segments: [bp] -> SS, [bx] -> DS (DS=0x1000 here, SS=0) ----
    mov dword [VAR_SCRATCH], 0x5555aaaa   ; linear 0x540 (SS:0x540)
    mov dword [es:0x540], 0x3333cccc      ; linear 0x10540 (DS:0x540 below)
    mov ax, 0x1000
    mov ds, ax
    mov bp, VAR_SCRATCH
    mov si, 0
    mov eax, [bp]
    mov ebx, [bp+si]
    mov ecx, [si+VAR_SCRATCH]
    xor dx, dx
    mov ds, dx
    CHECK32 eax, 0x5555aaaa, "mov eax,[bp] uses SS"
    CHECK32 ebx, 0x5555aaaa, "mov ebx,[bp+si] uses SS"
    CHECK32 ecx, 0x3333cccc, "mov ecx,[si+disp] uses DS"

    ; ---- MOV moffs (A0-A3) ----
    mov dword [es:0x30], 0x44332211
    mov dword [es:0x34], 0x88776655
    mov eax, 0xffffffff
    mov al, [es:0x31]           ; 26 A0
    CHECK32 eax, 0xffffff22, "mov al,moffs16"
    mov ax, [es:0x32]           ; 26 A1
    CHECK32 eax, 0xffff4433, "mov ax,moffs16"
    mov eax, [es:0x34]          ; 66 26 A1
    CHECK32 eax, 0x88776655, "mov eax,moffs16"
    mov eax, 0x0d0c0b0a
    mov [es:0x38], al           ; 26 A2
    mov [es:0x3a], ax           ; 26 A3
    mov [es:0x3c], eax          ; 66 26 A3
    CHECK32 [es:0x38], 0x0b0a000a, "mov moffs8/16,al/ax"
    CHECK32 [es:0x3c], 0x0d0c0b0a, "mov moffs32,eax"
    mov eax, 0
    mov eax, [es:dword 0x34]    ; 67 66 26 A1 disp32
    CHECK32 eax, 0x88776655, "a32 mov eax,moffs32"
    mov ax, [es:dword 0x31]     ; 67 26 A1 disp32
    CHECK32 eax, 0x88773322, "a32 mov ax,moffs32"
    mov [es:dword 0x3f], al     ; 67 26 A2 disp32
    CHECK32 [es:0x3c], 0x220c0b0a, "a32 mov moffs32,al"
    mov byte [0x5a0], 0x66      ; DS (0) default for moffs
    mov al, [0x5a0]
    CHECK8 al, 0x66, "mov al,moffs16 default DS"

    ; ---- MOV to/from segment registers (real mode) ----
    mov ax, 0x1000
    mov ds, ax                  ; 8E /r reg
    mov eax, [0x14]             ; DS base 0x10000
    xor cx, cx
    mov ds, cx
    CHECK32 eax, 0x11223344, "mov ds,ax: base = 0x10000"
    mov word [0x5a2], 0x1000
    mov fs, [0x5a2]             ; 8E /r mem
    mov eax, [fs:0x14]
    CHECK32 eax, 0x11223344, "mov fs,[m]: base = 0x10000"
    mov eax, 0xffff1001
    db 0x66, 0x8e, 0xe8         ; mov gs,eax (o32: low 16 bits used)
    mov ecx, [gs:0x04]          ; linear 0x10014
    CHECK32 ecx, 0x11223344, "mov gs,eax uses ax"
    mov bx, gs                  ; 8C /r reg
    CHECK16 bx, 0x1001, "mov bx,gs"
    mov ebx, 0xffffffff
    db 0x66, 0x8c, 0xe3         ; mov ebx,fs: low 16 bits (upper undefined)
    CHECK16 bx, 0x1000, "mov ebx,fs (low 16)"
    mov dword [es:0x40], 0xffffffff
    mov dword [es:0x44], 0xffffffff
    mov [es:0x40], cs           ; 8C /r mem
    CHECK32 [es:0x40], 0xfffff000, "mov [m],cs stores 16 bits"
    db 0x66, 0x26, 0x8c, 0x06, 0x44, 0x00   ; o32 mov [es:0x44],es
    CHECK32 [es:0x44], 0xffff1000, "o32 mov [m],es stores 16 bits"
    ; SS
    mov bx, ss
    mov cx, sp
    mov ax, 0x1000
    mov ss, ax
    mov sp, 0x0100
    push word 0x1234            ; -> linear 0x100fe
    mov ss, bx
    mov sp, cx
    CHECK16 [es:0xfe], 0x1234, "mov ss,ax: push goes to the new SS"
    ; MOV CS,r/m -> #UD
    SET_RECOVERY .ud1
.mov_cs:
    db 0x8e, 0xc8               ; mov cs,ax
.ud1:
    CHECK_EXC 6, -1, "mov cs,ax: #UD"
    CHECK32 [VAR_EXC_EIP], .mov_cs, "mov cs,ax: #UD ip"

    ; ---- MOVZX / MOVSX ----
    mov ebx, 0x12348f80
    mov eax, 0xffffffff
    movzx ax, bl
    CHECK32 eax, 0xffff0080, "movzx ax,bl"
    movzx ecx, bl
    CHECK32 ecx, 0x00000080, "movzx ecx,bl"
    movzx ecx, bh
    CHECK32 ecx, 0x0000008f, "movzx ecx,bh"
    movzx esi, bx
    CHECK32 esi, 0x00008f80, "movzx esi,bx"
    movsx ax, bl
    CHECK32 eax, 0xffffff80, "movsx ax,bl"
    mov eax, 0
    movsx ax, bl
    CHECK32 eax, 0x0000ff80, "movsx ax,bl keeps upper half"
    movsx ecx, bh
    CHECK32 ecx, 0xffffff8f, "movsx ecx,bh"
    movsx esi, bx
    CHECK32 esi, 0xffff8f80, "movsx esi,bx"
    mov bx, 0x7f7f
    movsx ecx, bl
    CHECK32 ecx, 0x0000007f, "movsx ecx,0x7f"
    movsx esi, bx
    CHECK32 esi, 0x00007f7f, "movsx esi,0x7f7f"
    mov dword [es:0x50], 0x8001fe7f
    movzx ecx, byte [es:0x51]
    CHECK32 ecx, 0x000000fe, "movzx ecx,byte [m]"
    movsx ecx, byte [es:0x51]
    CHECK32 ecx, 0xfffffffe, "movsx ecx,byte [m]"
    movzx ecx, word [es:0x52]
    CHECK32 ecx, 0x00008001, "movzx ecx,word [m]"
    movsx ecx, word [es:0x52]
    CHECK32 ecx, 0xffff8001, "movsx ecx,word [m]"
    mov ecx, 0xaaaaaaaa
    movsx cx, byte [es:0x50]
    CHECK32 ecx, 0xaaaa007f, "movsx cx,byte [m]"

    ; ---- XCHG ----
    mov eax, 0x11111111
    mov ebx, 0x22222222
    SETF16 FL_CF|FL_ZF
    xchg ax, bx                 ; 93
    CHECK_FLAGS FL_ARITH, FL_CF|FL_ZF, "xchg leaves flags"
    CHECK32 eax, 0x11112222, "xchg ax,bx (93): ax"
    CHECK32 ebx, 0x22221111, "xchg ax,bx (93): bx"
    xchg eax, ebx               ; 66 93
    CHECK32 eax, 0x22221111, "xchg eax,ebx: eax"
    CHECK32 ebx, 0x11112222, "xchg eax,ebx: ebx"
    mov ecx, 0x1234abcd
    xchg ch, cl                 ; 86
    CHECK32 ecx, 0x1234cdab, "xchg ch,cl"
    mov esi, 0x55556666
    mov edi, 0x77778888
    xchg esi, edi               ; 87
    CHECK32 esi, 0x77778888, "xchg esi,edi: esi"
    CHECK32 edi, 0x55556666, "xchg esi,edi: edi"
    mov dword [es:0x60], 0xa1a2a3a4
    xchg [es:0x61], cl          ; 86 mem
    CHECK32 [es:0x60], 0xa1a2aba4, "xchg [m8],cl: memory"
    CHECK32 ecx, 0x1234cda3, "xchg [m8],cl: cl"
    xchg di, [es:0x62]          ; 87 mem
    CHECK32 [es:0x60], 0x6666aba4, "xchg di,[m16]: memory"
    CHECK32 edi, 0x5555a1a2, "xchg di,[m16]: di"
    xchg [es:0x60], esi
    CHECK32 [es:0x60], 0x77778888, "xchg [m32],esi: memory"
    CHECK32 esi, 0x6666aba4, "xchg [m32],esi: esi"
    db 0x87, 0xc0               ; xchg ax,ax (87 form)
    CHECK32 eax, 0x22221111, "xchg ax,ax (87) no change"

    ; ---- LEA ----
    mov eax, 0xffffffff
    mov bx, 0xf000
    mov si, 0x2000
    lea ax, [bx+si+0x1234]      ; o16 a16: 0x12234 -> 0x2234
    CHECK32 eax, 0xffff2234, "lea ax,[bx+si+disp16] wraps"
    lea eax, [bx+si+0x1234]     ; o32 a16: zero-extended 16-bit EA
    CHECK32 eax, 0x00002234, "o32 lea eax,[bx+si+disp] zero-extends"
    mov bp, 0
    lea cx, [bp-1]
    CHECK16 cx, 0xffff, "lea cx,[bp-1]"
    lea cx, [es:bp+di]          ; override ignored
    CHECK16 cx, 0xa1a2, "lea cx,[es:bp+di]"
    mov ebx, 0x12345678
    mov ecx, 0x00000100
    mov eax, 0xabcd0000
    lea ax, [ebx+ecx*4+0x10]    ; o16 a32: 0x12345a88 -> 0x5a88
    CHECK32 eax, 0xabcd5a88, "a32 lea ax,[ebx+ecx*4+disp] truncates"
    lea eax, [ebx+ecx*4+0x10]   ; o32 a32
    CHECK32 eax, 0x12345a88, "a32 lea eax,[ebx+ecx*4+disp]"
    lea esi, [ecx*8-8]
    CHECK32 esi, 0x000007f8, "a32 lea esi,[ecx*8-8]"
    SET_RECOVERY .ud2
.lea_reg:
    db 0x8d, 0xc3               ; lea ax,bx
.ud2:
    CHECK_EXC 6, -1, "lea with register source: #UD"
    CHECK32 [VAR_EXC_EIP], .lea_reg, "lea reg: #UD ip"

    ; ---- XLAT ----
    mov byte [es:0x105], 0x51
    mov byte [es:0x1ff], 0x52
    mov byte [es:0x010], 0x53
    mov byte [es:0x180], 0x54
    mov byte [VAR_SCRATCH+0x20], 0x55
    mov ebx, 0xabcd0100
    mov eax, 0xffffff05
    es xlatb
    CHECK32 eax, 0xffffff51, "xlat a16 ignores upper ebx"
    mov al, 0xff                ; zero-extended, not -1
    es xlatb
    CHECK8 al, 0x52, "xlat al=0xff"
    mov bx, 0xfff0
    mov al, 0x20                ; 0xfff0+0x20 wraps to 0x0010
    es xlatb
    CHECK8 al, 0x53, "xlat a16 wraps"
    mov ebx, 0x00000100
    mov al, 0x80
    a32 es xlatb
    CHECK8 al, 0x54, "a32 xlat"
    mov bx, VAR_SCRATCH
    mov al, 0x20
    xlatb                       ; default DS (0)
    CHECK8 al, 0x55, "xlat default ds"

    ; ---- LAHF / SAHF ----
    mov eax, 0x12345678
    SETF16 FL_ARITH
    lahf
    CHECK32 eax, 0x1234d778, "lahf all set"
    SETF16 0
    lahf
    CHECK32 eax, 0x12340278, "lahf all clear"
    SETF16 FL_OF
    mov ah, 0xff
    sahf
    CHECK_FLAGS 0x0fff, FL_OF|FL_SF|FL_ZF|FL_AF|FL_PF|FL_CF|2, "sahf 0xff (OF kept)"
    SETF16 FL_ARITH
    mov ah, 0x28                ; reserved bits only
    sahf
    CHECK_FLAGS 0x0fff, FL_OF|2, "sahf 0x28 (OF kept, bits 3/5 stay 0)"

    ; ---- CBW CWDE CWD CDQ ----
    mov eax, 0x12345680
    cbw
    CHECK32 eax, 0x1234ff80, "cbw negative"
    mov al, 0x7f
    cbw
    CHECK32 eax, 0x1234007f, "cbw positive"
    mov ax, 0x8000
    cwde
    CHECK32 eax, 0xffff8000, "cwde negative"
    mov ax, 0x7fff
    cwde
    CHECK32 eax, 0x00007fff, "cwde positive"
    mov edx, 0x12345678
    mov ax, 0x8000
    cwd
    mov ecx, edx
    CHECK32 ecx, 0x1234ffff, "cwd negative"
    CHECK32 eax, 0x00008000, "cwd keeps ax"
    mov ax, 0x1234
    cwd
    mov ecx, edx
    CHECK32 ecx, 0x12340000, "cwd positive"
    mov eax, 0x80000000
    cdq
    mov ecx, edx
    CHECK32 ecx, 0xffffffff, "cdq negative"
    mov eax, 0x7fffffff
    cdq
    mov ecx, edx
    CHECK32 ecx, 0, "cdq positive"
    CHECK32 eax, 0x7fffffff, "cdq keeps eax"

    ; ---- BSWAP ----
    mov eax, 0x12345678
    bswap eax
    CHECK32 eax, 0x78563412, "bswap eax"
    mov edi, 0x80ff0001
    bswap edi
    CHECK32 edi, 0x0100ff80, "bswap edi"

    ; ---- LDS LES LFS LGS LSS (real mode) ----
    mov ax, 0x2000
    mov fs, ax
    mov word [fs:0x1234], 0x6789     ; linear 0x21234
    mov dword [es:0x70], 0x20001234  ; offset 0x1234, segment 0x2000
    lds si, [es:0x70]
    mov ax, [si]
    mov bx, ds
    xor cx, cx
    mov ds, cx
    CHECK16 si, 0x1234, "lds si"
    CHECK16 bx, 0x2000, "lds: ds"
    CHECK16 ax, 0x6789, "lds: new ds base used"
    mov dword [es:0x78], 0x00f00010  ; o32: offset 0x00f00010
    mov word [es:0x7c], 0x2000
    mov edi, 0
    o32 lfs edi, [es:0x78]
    CHECK32 edi, 0x00f00010, "o32 lfs edi"
    mov bx, fs
    CHECK16 bx, 0x2000, "o32 lfs: fs"
    mov dword [es:0x80], 0x30005678
    mov ebx, 0xffffffff
    lgs bx, [es:0x80]
    CHECK32 ebx, 0xffff5678, "lgs bx keeps upper half"
    mov ax, gs
    CHECK16 ax, 0x3000, "lgs: gs"
    mov dword [es:0x84], 0x20001234
    les di, [es:0x84]           ; ES itself is the pointer segment and the target
    mov ax, [es:di]
    mov cx, es
    mov bx, 0x1000
    mov es, bx
    CHECK16 di, 0x1234, "les di"
    CHECK16 cx, 0x2000, "les: es"
    CHECK16 ax, 0x6789, "les: new es base used"
    ; LSS: switch to 0x1000:0x0200, push, switch back
    mov [es:0x8c], sp
    mov [es:0x8e], ss
    mov dword [es:0x88], 0x10000200
    lss sp, [es:0x88]
    push word 0xbeef            ; linear 0x101fe
    mov bx, ss
    mov cx, sp
    lss sp, [es:0x8c]
    CHECK16 bx, 0x1000, "lss: ss"
    CHECK16 cx, 0x01fe, "lss: sp after push"
    CHECK16 [es:0x1fe], 0xbeef, "lss: push uses the new stack"
    mov cx, sp
    CHECK16 cx, STACK0_TOP, "lss: stack restored"
    ; register source -> #UD
    SET_RECOVERY .ud3
.lds_reg:
    db 0xc5, 0xc0               ; lds ax,ax
.ud3:
    CHECK_EXC 6, -1, "lds with register source: #UD"
    CHECK32 [VAR_EXC_EIP], .lds_reg, "lds reg: #UD ip"
    SET_RECOVERY .ud4
.lss_reg:
    db 0x0f, 0xb2, 0xc0         ; lss ax,ax
.ud4:
    CHECK_EXC 6, -1, "lss with register source: #UD"
    mov ax, ds
    CHECK16 ax, 0, "lds reg: ds unchanged"

    ENTER_PM32 pm_main

CODE32
SEL_D40 equ SEL_FREE        ; data, base 0x40000
pm_main:
    PRINT "data: protected mode", 10
    mov dword [GDT_BASE + SEL_D40], 0x0000ffff
    mov dword [GDT_BASE + SEL_D40 + 4], 0x00cf9304
    mov dword [0x20000], 0x44332211
    mov dword [0x20004], 0x88776655
    mov dword [0x20008], 0
    mov dword [0x41234], 0xc3c2c1c0

    ; ---- MOV moffs: 32-bit offset, 0x67 16-bit offset ----
    mov eax, 0xffffffff
    mov al, [0x20002]           ; A0 disp32
    CHECK32 eax, 0xffffff33, "pm mov al,moffs32"
    mov ax, [0x20001]           ; 66 A1
    CHECK32 eax, 0xffff3322, "pm mov ax,moffs32"
    mov eax, [0x20004]          ; A1
    CHECK32 eax, 0x88776655, "pm mov eax,moffs32"
    mov [0x20009], eax          ; A3
    CHECK32 [0x20008], 0x77665500, "pm mov moffs32,eax"
    mov ax, SEL_D40
    mov es, ax
    mov al, [es:word 0x1235]    ; 67 26 A0 disp16
    CHECK8 al, 0xc1, "pm a16 mov al,moffs16"
    mov eax, [es:word 0x1234]   ; 67 26 A1 disp16
    CHECK32 eax, 0xc3c2c1c0, "pm a16 mov eax,moffs16"
    mov [es:word 0x1236], ax    ; 67 66 26 A3 disp16
    CHECK32 [0x41234], 0xc1c0c1c0, "pm a16 mov moffs16,ax"

    ; ---- default segments in 32-bit addressing: [ebp], [esp] -> SS ----
    mov ax, SEL_D40
    mov ds, ax                  ; DS base 0x40000, SS base 0
    mov dword [ss:0x20010], 0x01020304
    mov dword [0x20010], 0x0a0b0c0d   ; linear 0x60010
    mov ebp, 0x20000
    mov ecx, [ebp+0x10]
    mov edx, esp
    mov esp, 0x20010
    mov esi, [esp]
    mov esp, edx
    mov ebx, 0x10
    db 0x8b, 0x7c, 0x1d, 0x00   ; mov edi,[ebp+ebx*1+0] (SIB base EBP): SS
    db 0x8b, 0x04, 0x2b         ; mov eax,[ebx+ebp*1] (SIB base EBX, index EBP): DS
    mov ebx, [0x20010]          ; disp32 only: DS
    mov dx, SEL_DATA32
    mov ds, dx
    mov es, dx
    CHECK32 ecx, 0x01020304, "pm mov ecx,[ebp+disp] uses SS"
    CHECK32 esi, 0x01020304, "pm mov esi,[esp] uses SS"
    CHECK32 edi, 0x01020304, "pm mov edi,[ebp+ebx] (base ebp) uses SS"
    CHECK32 eax, 0x0a0b0c0d, "pm mov eax,[ebx+ebp] (index ebp) uses DS"
    CHECK32 ebx, 0x0a0b0c0d, "pm mov ebx,[disp32] uses DS"

    ; ---- MOV Sreg in protected mode ----
    mov ax, cs
    CHECK16 ax, SEL_CODE32, "pm mov ax,cs"
    mov dword [0x20020], 0xffffffff
    mov [0x20020], ds           ; 8C mem: 16 bits
    CHECK32 [0x20020], 0xffff0000 | SEL_DATA32, "pm mov [m],ds stores 16 bits"
    mov ax, SEL_D40
    mov fs, ax
    mov eax, [fs:0x1234]
    CHECK32 eax, 0xc1c0c1c0, "pm mov fs,ax: new base used"

    ; ---- MOVZX / MOVSX / XCHG in 32-bit code ----
    mov dword [0x20030], 0x00ff8081
    movzx eax, byte [0x20030]
    CHECK32 eax, 0x81, "pm movzx eax,byte"
    movsx eax, byte [0x20030]
    CHECK32 eax, 0xffffff81, "pm movsx eax,byte"
    movsx eax, word [0x20031]
    CHECK32 eax, 0xffffff80, "pm movsx eax,word 0xff80"
    movsx eax, word [0x20032]
    CHECK32 eax, 0x000000ff, "pm movsx eax,word 0x00ff"
    mov ecx, 0xaaaaaaaa
    movzx cx, byte [0x20030]    ; 66 0F B6
    CHECK32 ecx, 0xaaaa0081, "pm movzx cx,byte"
    mov eax, 0x12345678
    xchg [0x20030], eax
    CHECK32 eax, 0x00ff8081, "pm xchg eax,[m]: eax"
    CHECK32 [0x20030], 0x12345678, "pm xchg eax,[m]: memory"
    mov bx, 0x9999
    xchg [0x20032], bx
    CHECK32 [0x20030], 0x99995678, "pm xchg [m16],bx"
    CHECK16 bx, 0x1234, "pm xchg [m16],bx: bx"

    ; ---- LEA in 32-bit code ----
    mov ebx, 0x00010000
    mov ecx, 0x20
    lea eax, [ebx+ecx*8-4]
    CHECK32 eax, 0x000100fc, "pm lea eax,[ebx+ecx*8-4]"
    mov ebx, 0x1234ff00
    mov eax, 0xcccccccc
    lea ax, [ebx+ecx*8]         ; o16 a32: truncated
    CHECK32 eax, 0xcccc0000, "pm o16 lea ax,[ebx+ecx*8]"
    mov eax, 0xcccccccc
    mov si, 0xff00
    lea eax, [bx+si+0x300]      ; o32 a16: 0xff00+0xff00+0x300 = 0x20100 -> 0x0100
    CHECK32 eax, 0x00000100, "pm a16 lea eax,[bx+si+disp]"
    lea ax, [bx+si]             ; o16 a16
    CHECK32 eax, 0x0000fe00, "pm a16 lea ax,[bx+si]"
    mov esi, 0x40000000
    lea edi, [esi+esi*2]        ; wraps at 2^32
    CHECK32 edi, 0xc0000000, "pm lea edi,[esi+esi*2]"
    lea edi, [esi*4+5]
    CHECK32 edi, 0x00000005, "pm lea edi,[esi*4+5] wraps"

    ; ---- XLAT in 32-bit code ----
    mov byte [0x200ff], 0x61
    mov byte [0x40010], 0x62
    mov ebx, 0x20000
    mov eax, 0x123456ff
    xlatb
    CHECK32 eax, 0x12345661, "pm xlat [ebx+0xff]"
    mov ax, SEL_D40
    mov es, ax
    mov ebx, 0x1234fff0
    mov al, 0x20
    a16 es xlatb                ; es:(0xfff0+0x20)&0xffff = es:0x10
    CHECK8 al, 0x62, "pm a16 es xlat wraps"
    mov ax, SEL_DATA32
    mov es, ax

    ; ---- CBW family in 32-bit code ----
    mov eax, 0xaaaa00f0
    cbw                         ; 66 98
    CHECK32 eax, 0xaaaafff0, "pm cbw"
    cwde
    CHECK32 eax, 0xfffffff0, "pm cwde"
    mov edx, 0x55555555
    cwd                         ; 66 99
    mov ecx, edx
    CHECK32 ecx, 0x5555ffff, "pm cwd"
    cdq
    mov ecx, edx
    CHECK32 ecx, 0xffffffff, "pm cdq"
    mov edx, 0x01020304
    bswap edx
    mov ecx, edx
    CHECK32 ecx, 0x04030201, "pm bswap edx"
    PASS

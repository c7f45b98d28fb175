; unreal.asm: "unreal" (big real) mode: segment registers loaded with a 4 GiB
; descriptor in protected mode keep that limit after going back to real mode.
;
; SDM Vol 3 9.9.2 "Switching Back to Real-Address Mode" and 20.1.1 "Address
; Translation in Real-Address Mode": in real mode a segment register load sets
; only the selector and base (selector * 16); the limit and attributes cached by
; the last protected-mode load stay in force.
;   - A20 (port 92h bit 1, PS/2 system control port A) is on: linear 100540h is
;     not 000540h.
;   - DS/ES loaded with the flat 4 GiB SEL_DATA32 in protected mode, not reloaded:
;     32-bit offsets past 1 MiB work from real mode (write 200000h through DS=0,
;     read it back through DS and ES), with MOV, a 32-bit-address MOVSD/LODSD
;     (ESI/EDI), and an [EBX+ECX*4+disp] form.
;   - MOV DS/ES/GS and POP DS in real mode change only the base: with DS=0
;     reloaded, DS=10h popped, ES=1000h, GS=FFFFh the 4 GiB limit remains
;     (ES:1F0000 is linear 200000h).
;   - (%ifndef QEMU) FS was given the 64 KiB SEL_DATA16 before leaving protected
;     mode: a 32-bit offset past FFFFh through FS is #GP (vector 13, no error code,
;     MOV page "Real-Address Mode Exceptions"), also after a real-mode reload of
;     FS. QEMU 7.2 does not check data segment limits.
;   - the 4 GiB limit does not change 16-bit address arithmetic: [BX+SI] still
;     wraps at 64 KiB (address size, not a limit).
%include "rom.inc"

CODE16
main:
    PRINT "unreal: A20", 10
    in al, 0x92
    and al, 0xfe                    ; never pulse the reset bit
    or al, 0x02
    out 0x92, al
    in al, 0x92
    and al, 0x02
    CHECK8 al, 0x02, "port 92h bit 1 (A20) reads back set"
    ; with A20 on, FFFF:0550 (linear 100540) does not alias 0:0540
    mov dword [VAR_SCRATCH], 0x11111111
    mov ax, 0xffff
    mov es, ax
    mov dword [es:0x0550], 0x22222222
    CHECK32 [VAR_SCRATCH], 0x11111111, "A20 on: 0:0540 is not FFFF:0550"
    CHECK32 [es:0x0550], 0x22222222, "A20 on: FFFF:0550 reads back"
    ENTER_PM32 pm32

CODE32
pm32:
    ; DS, ES, GS: flat 4 GiB (ENTER_PM32 left them so); FS: 64 KiB; SS: 64 KiB
    mov ax, SEL_DATA16
    mov fs, ax
    mov ss, ax
    jmp SEL_CODE16:pm16

CODE16
pm16:
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp 0xf000:rm

rm:
    xor ax, ax
    mov ss, ax                      ; DS, ES, GS not reloaded
    mov esp, STACK0_TOP
    ; nothing here may reload DS before the checks below (a PUSH DS / POP DS
    ; would load base 10h*16 = 100h in real mode)
    PRINT "unreal: real mode with 4 GiB DS/ES", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 0, "back in real mode"
    ; write above 1 MiB through DS with the (cached) base 0
    mov dword [dword 0x200000], 0xcafebabe
    CHECK32 [dword 0x200000], 0xcafebabe, "DS:200000 reads back"
    CHECK32 [es:dword 0x200000], 0xcafebabe, "ES:200000 is the same byte"
    ; the A20 view: 100540 is not 000540
    mov dword [dword 0x100540], 0x33333333
    CHECK32 [VAR_SCRATCH], 0x11111111, "DS:100540 does not alias 0:0540"
    CHECK32 [dword 0x100540], 0x33333333, "DS:100540 reads back"
    ; 32-bit address size string instructions (ESI/EDI, 4 GiB DS and ES)
    mov esi, 0x200000
    mov edi, 0x300000
    a32 movsd
    CHECK32 esi, 0x200004, "a32 movsd: esi"
    CHECK32 edi, 0x300004, "a32 movsd: edi"
    CHECK32 [dword 0x300000], 0xcafebabe, "a32 movsd copied to ES:300000"
    mov esi, 0x300000
    xor eax, eax
    a32 lodsd
    CHECK32 eax, 0xcafebabe, "a32 lodsd from DS:300000"
    ; SIB form
    mov ebx, 0x100000
    mov ecx, 0x40000
    mov word [ebx+ecx*4+0x10], 0x4567      ; 200010
    CHECK16 [dword 0x200010], 0x4567, "[ebx+ecx*4+10h] = DS:200010"

    ; real-mode reloads change the base only
    xor ax, ax
    mov ds, ax
    CHECK32 [dword 0x200000], 0xcafebabe, "after mov ds,ax (ax=0): limit still 4 GiB"
    push word 0x0010                ; POP DS in real mode: base 100h, limit kept
    pop ds
    CHECK32 [dword 0x1fff00], 0xcafebabe, "after pop ds (10h): DS:1FFF00 is linear 200000"
    xor ax, ax
    mov ds, ax
    mov ax, 0x1000
    mov es, ax
    CHECK32 [es:dword 0x1f0000], 0xcafebabe, "ES=1000: ES:1F0000 is linear 200000"
    mov dword [es:dword 0x1f0008], 0x76543210
    CHECK32 [dword 0x200008], 0x76543210, "write through ES=1000 lands at 200008"
    mov ax, 0xffff
    mov gs, ax
    CHECK16 [gs:dword 0x100020], 0x4567, "GS=FFFF: GS:100020 is linear 200010h"
    lidt [cs:rm_idtr]
    INSTALL_RM_HANDLERS

    ; 16-bit addressing still wraps at 64 KiB (address size, not the limit)
    mov dword [0x0540], 0x5a5a5a5a
    mov bx, 0xffff
    mov si, 0x0541
    CHECK32 [bx+si], 0x5a5a5a5a, "[bx+si] wraps to offset 0540"

%ifndef QEMU
    ; SDM MOV "Real-Address Mode Exceptions" / Vol 3 20.1.1: FS keeps the 64 KiB
    ; limit loaded in protected mode; QEMU 7.2 does not check data segment limits.
    SET_RECOVERY .after_fs
    mov eax, [fs:dword 0x200000]
.after_fs:
    CHECK_EXC 13, 0xffffffff, "FS (64 KiB) offset 200000h"
    xor ax, ax
    mov fs, ax
    SET_RECOVERY .after_fs2
    mov eax, [fs:dword 0x10000]
.after_fs2:
    CHECK_EXC 13, 0xffffffff, "FS reloaded in real mode: still 64 KiB"
    SET_RECOVERY .after_fs3
    mov eax, [fs:0xfffe]
.after_fs3:
    CHECK_EXC 13, 0xffffffff, "FS: dword at fffe straddles the 64 KiB limit"
%endif
    CHECK_NO_EXC "unreal: no stray exception"
    PASS

rm_idtr: dw 0x3ff
         dd 0

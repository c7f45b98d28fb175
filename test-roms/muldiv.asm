; muldiv.asm: MUL, IMUL (one, two and three operands, imm8 and imm16/32), DIV, IDIV in
; 8/16/32 bits, register and memory operands, and their #DE faults, in real mode (IVT
; handlers from INSTALL_RM_HANDLERS) and in 32-bit protected mode.
;
; What is checked (Intel SDM Vol. 2, "MUL", "IMUL", "DIV", "IDIV"; Vol. 3 6.15
; "Interrupt 0 - Divide Error Exception (#DE)"):
;   - MUL/IMUL results in AX / DX:AX / EDX:EAX (whole 32-bit EAX and EDX checked, so
;     the bits a form does not write must be kept; 8-bit forms leave EDX alone);
;     two/three-operand IMUL: truncated result in the destination, EDX untouched;
;   - CF and OF only (the SDM leaves SF ZF AF PF undefined after MUL/IMUL): MUL
;     CF = OF = (upper half != 0); IMUL CF = OF = (the result does not fit the lower
;     half / the destination as a signed number);
;   - DIV/IDIV quotient and remainder (IDIV truncates toward zero, the remainder has
;     the sign of the dividend; -128 / -32768 / -2^31 are valid quotients); no flags
;     (all undefined);
;   - #DE for a zero divisor and for every kind of quotient overflow, including
;     IDIV -2^31 / -1, -2^63 / -1, the 8-bit AX / r8 forms (-32768 / -1, -128 / -1,
;     256 / 2, -258 / 2): exactly one exception, vector 0, saved CS:EIP = the divide
;     instruction itself (a fault), EAX EBX ECX EDX and the arithmetic flags unchanged.
; A few memory operands also use the other address size (67h: 32-bit addressing in
; real mode, 16-bit in protected mode).
; Two #DE cases (16-bit IDIV -2^31 / -1, 32-bit IDIV -2^63 / -1) kill QEMU 7.2 itself
; with a host SIGFPE, so they sit in "%ifndef QEMU" and run under Bochs only.

%include "rom.inc"
%include "cases.inc"

; ---------------------------------------------------------------------------------
; The cases (run once in real mode, once in 32-bit protected mode; the same
; instruction text gets a 66/67 prefix as needed in each mode).
%macro SUITE 0
%assign CASE_NO 0

    ; ---- MUL (SDM "MUL"): AX = AL * r/m8, DX:AX, EDX:EAX; CF = OF = (upper half != 0); SF ZF AF PF undefined
    T   {mul bl}, 0x5a5a0080, 0xc3c3c302, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x5a5a0100, edx, 0x3c3c3c3c  ; upper half 01: CF=OF=1; EDX untouched
    T   {mul bl}, 0x5a5a000f, 0xc3c3c311, -, 0x3c3c3c3c, OF|CF, OF|CF, 0, eax, 0x5a5a00ff, edx, 0x3c3c3c3c  ; ff fits: CF=OF=0
    TM  {mul byte [MB]}, 0x5a5a00ff, 0xc3c3c3ff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x5a5afe01, edx, 0x3c3c3c3c  ; f6 /4 mem: fe01
    T   {mul bh}, 0x5a5a0010, 0xc3c310c3, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x5a5a0100, edx, 0x3c3c3c3c  ; bh source
    T   {mul bx}, 0x5a5a8000, 0xc3c30002, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x5a5a0000, edx, 0x3c3c0001  ; DX=1: CF=OF=1
    T   {mul bx}, 0x5a5a1234, 0xc3c30002, -, 0x3c3c3c3c, OF|CF, OF|CF, 0, eax, 0x5a5a2468, edx, 0x3c3c0000  ; DX=0 written (upper EDX kept)
    TM  {mul word [MB]}, 0x5a5affff, 0xc3c3ffff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x5a5a0001, edx, 0x3c3cfffe  ; f7 /4 mem: fffe:0001
    T   {mul ebx}, 0x80000000, 0x00000002, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x00000000, edx, 0x00000001  ; EDX=1
    T   {mul ebx}, 0x12345678, 0x00000001, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, eax, 0x12345678, edx, 0x00000000  ; EDX=0: CF=OF=0
    TM  {mul dword [MB]}, 0xffffffff, 0xffffffff, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x00000001, edx, 0xfffffffe  ; fffffffe:00000001

    ; ---- IMUL one operand (SDM "IMUL"): signed, CF = OF = (the product does not fit the lower half)
    T   {imul bl}, 0x5a5a00ff, 0xc3c3c3ff, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, eax, 0x5a5a0001, edx, 0x3c3c3c3c  ; -1 * -1 = 1
    T   {imul bl}, 0x5a5a0080, 0xc3c3c3ff, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x5a5a0080, edx, 0x3c3c3c3c  ; -128 * -1 = 128: does not fit
    TM  {imul byte [MB]}, 0x5a5a00fe, 0xc3c3c340, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, eax, 0x5a5aff80, edx, 0x3c3c3c3c  ; f6 /5 mem: -2 * 64 = -128 fits
    T   {imul bl}, 0x5a5a007f, 0xc3c3c302, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x5a5a00fe, edx, 0x3c3c3c3c  ; 127 * 2 = 254
    T   {imul bx}, 0x5a5a8000, 0xc3c3ffff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x5a5a8000, edx, 0x3c3c0000  ; -32768 * -1 = 32768: does not fit
    T   {imul bx}, 0x5a5afffe, 0xc3c34000, -, 0x3c3c3c3c, OF|CF, OF|CF, 0, eax, 0x5a5a8000, edx, 0x3c3cffff  ; -2 * 4000h = -8000h fits: DX=ffff
    T   {imul ebx}, 0x80000000, 0xffffffff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x80000000, edx, 0x00000000  ; -2^31 * -1 = 2^31: does not fit
    TM  {imul dword [MB]}, 0xffffffff, 0x00000001, -, 0x3c3c3c3c, OF|CF, OF|CF, 0, eax, 0xffffffff, edx, 0xffffffff  ; f7 /5 mem: -1 * 1 = -1 fits
    T   {imul ebx}, 0x7fffffff, 0x7fffffff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x00000001, edx, 0x3fffffff  ; 3fffffff:00000001

    ; ---- IMUL two and three operands (SDM "IMUL"): truncated to the destination size; CF = OF = (the truncated result differs from the full product); EDX untouched
    T   {imul ax, bx}, 0x5a5a4000, 0xc3c30002, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x5a5a8000, edx, 0x3c3c3c3c  ; 0f af: 4000h * 2 = 8000h overflows
    TM  {imul ax, word [MB]}, 0x5a5ac000, 0xc3c30002, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, eax, 0x5a5a8000, edx, 0x3c3c3c3c  ; 0f af mem: -4000h * 2 = -8000h fits
    T   {imul eax, ebx}, 0x00010000, 0x00010000, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x00000000, edx, 0x3c3c3c3c  ; 2^32 truncated to 0
    TM  {imul eax, dword [MB]}, 0xfffffffd, 0x00000005, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, eax, 0xfffffff1, edx, 0x3c3c3c3c  ; -3 * 5 = -15
    T   {imul ecx, ebx, byte -1}, 0x5a5a5a5a, 0x80000000, 0xa5a5a5a5, 0x3c3c3c3c, 0, OF|CF, OF|CF, ecx, 0x80000000, edx, 0x3c3c3c3c  ; 6b ib: -2^31 * -1 overflows
    T   {imul ecx, ebx, byte 3}, 0x5a5a5a5a, 0x00000005, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, ecx, 0x0000000f, edx, 0x3c3c3c3c  ; 6b ib: 5 * 3
    T   {imul cx, bx, byte -128}, 0x5a5a5a5a, 0xc3c30100, 0xa5a5a5a5, 0x3c3c3c3c, OF|CF, OF|CF, 0, ecx, 0xa5a58000, edx, 0x3c3c3c3c  ; 6b ib: 100h * -128 = -8000h fits (upper ECX kept)
    TM  {imul cx, word [MB], strict word 256}, 0x5a5a5a5a, 0xc3c30080, 0xa5a5a5a5, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, ecx, 0xa5a58000, edx, 0x3c3c3c3c  ; 69 iw mem: 80h * 100h = 8000h overflows
    TM  {imul ecx, dword [MB], strict dword 65536}, 0x5a5a5a5a, 0x00008000, 0xa5a5a5a5, 0x3c3c3c3c, 0, OF|CF, OF|CF, ecx, 0x80000000, edx, 0x3c3c3c3c  ; 69 id mem: 8000h * 10000h = 2^31 overflows
    T   {imul ecx, ebx, strict dword -2}, 0x5a5a5a5a, 0x40000000, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, OF|CF, 0, ecx, 0x80000000, edx, 0x3c3c3c3c  ; 69 id: 40000000h * -2 = -2^31 fits

    ; ---- DIV (SDM "DIV"): AX / r/m8 -> AL quotient, AH remainder; DX:AX; EDX:EAX; flags undefined
    T   {div bl}, 0x5a5a0100, 0xc3c3c302, -, 0x3c3c3c3c, ZF|CF, 0, 0, eax, 0x5a5a0080, edx, 0x3c3c3c3c  ; quotient 80h
    TM  {div byte [MB]}, 0x5a5a00ff, 0xc3c3c310, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x5a5a0f0f, edx, 0x3c3c3c3c  ; f6 /6 mem: 0f rem 0f
    T   {div bh}, 0x5a5afefe, 0xc3c3ffc3, -, 0x3c3c3c3c, ZF|CF, 0, 0, eax, 0x5a5afdff, edx, 0x3c3c3c3c  ; largest quotient ff, rem fd
    T   {div bx}, 0x5a5a0000, 0xc3c30002, -, 0x3c3c0001, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x5a5a8000, edx, 0x3c3c0000  ; 10000h / 2
    TM  {div word [MB]}, 0x5a5affff, 0xc3c3ffff, -, 0x3c3cfffe, ZF|CF, 0, 0, eax, 0x5a5affff, edx, 0x3c3cfffe  ; f7 /6 mem: largest quotient ffff rem fffe
    T   {div ebx}, 0x00000000, 0x00000002, -, 0x00000001, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x80000000, edx, 0x00000000  ; 2^32 / 2
    TM  {div dword [MB]}, 0xffffffff, 0xffffffff, -, 0xfffffffe, ZF|CF, 0, 0, eax, 0xffffffff, edx, 0xfffffffe  ; largest quotient
    T   {div ebx}, 0x00000007, 0x00000003, -, 0x00000000, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x00000002, edx, 0x00000001  ; 7 / 3

    ; ---- IDIV (SDM "IDIV"): signed, quotient truncated toward zero, remainder has the sign of the dividend
    T   {idiv bl}, 0x5a5afff9, 0xc3c3c302, -, 0x3c3c3c3c, ZF|CF, 0, 0, eax, 0x5a5afffd, edx, 0x3c3c3c3c  ; -7 / 2 = -3 rem -1
    T   {idiv bl}, 0x5a5a0007, 0xc3c3c3fe, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x5a5a01fd, edx, 0x3c3c3c3c  ; 7 / -2 = -3 rem 1
    TM  {idiv byte [MB]}, 0x5a5aff00, 0xc3c3c302, -, 0x3c3c3c3c, ZF|CF, 0, 0, eax, 0x5a5a0080, edx, 0x3c3c3c3c  ; f6 /7 mem: -256 / 2 = -128 (smallest quotient)
    T   {idiv bl}, 0x5a5a00fe, 0xc3c3c302, -, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x5a5a007f, edx, 0x3c3c3c3c  ; 254 / 2 = 127 (largest quotient)
    T   {idiv bx}, 0x5a5a0000, 0xc3c30002, -, 0x3c3cffff, ZF|CF, 0, 0, eax, 0x5a5a8000, edx, 0x3c3c0000  ; -65536 / 2 = -32768
    TM  {idiv word [MB]}, 0x5a5a0007, 0xc3c3fffd, -, 0x3c3c0000, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x5a5afffe, edx, 0x3c3c0001  ; f7 /7 mem: 7 / -3 = -2 rem 1
    T   {idiv ebx}, 0x80000000, 0x00000001, -, 0xffffffff, ZF|CF, 0, 0, eax, 0x80000000, edx, 0x00000000  ; -2^31 / 1
    T   {idiv ebx}, 0xfffffff9, 0x00000002, -, 0xffffffff, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0xfffffffd, edx, 0xffffffff  ; -7 / 2 = -3 rem -1
    T   {idiv ebx}, 0x00000000, 0x00000002, -, 0xffffffff, ZF|CF, 0, 0, eax, 0x80000000, edx, 0x00000000  ; -2^32 / 2 = -2^31 (smallest quotient)
    TM  {idiv dword [MB]}, 0x80000000, 0x80000000, -, 0x3fffffff, OF|SF|ZF|AF|PF|CF, 0, 0, eax, 0x80000001, edx, 0x00000000  ; (2^31-1)*2^31 / -2^31 = -(2^31-1)

    ; ---- memory operands with the other address size (67h prefix: 32-bit addressing in real mode, 16-bit addressing in protected mode)
    TM  {XA mul word [MB]}, 0x5a5a0100, 0xc3c30100, -, 0x3c3c3c3c, 0, OF|CF, OF|CF, eax, 0x5a5a0000, edx, 0x3c3c0001  ; f7 /4: DX=1
    TM  {XA imul eax, dword [MB]}, 0x80000000, 0xffffffff, -, 0x3c3c3c3c, SF|ZF|AF|PF, OF|CF, OF|CF, eax, 0x80000000, edx, 0x3c3c3c3c  ; 0f af: -2^31 * -1 overflows
    TM  {XA idiv byte [MB]}, 0x5a5afff9, 0xc3c3c3fe, -, 0x3c3c3c3c, ZF|CF, 0, 0, eax, 0x5a5aff03, edx, 0x3c3c3c3c  ; f6 /7: -7 / -2 = 3 rem -1
    DEM {XA div dword [MB]}, 0x00000000, 0x00000001, 0xa5a5a5a5, 0x00000001, OF|SF|ZF|AF|PF|CF  ; f7 /6: #DE, quotient 2^32

    ; ---- #DE (SDM "DIV", "IDIV" exceptions; Vol. 3 6.15 "Interrupt 0"): divisor 0, or the quotient does not fit; a fault: saved EIP = the DIV/IDIV, registers and flags unchanged
    DE  {div bl}, 0x5a5a1234, 0xc3c3c300, 0xa5a5a5a5, 0x3c3c3c3c, ZF|CF  ; divide by zero
    DE  {div bl}, 0x5a5a0100, 0xc3c3c301, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF  ; quotient 100h
    DEM {div byte [MB]}, 0x5a5affff, 0xc3c3c3ff, 0xa5a5a5a5, 0x3c3c3c3c, ZF|CF  ; quotient 101h
    DE  {div bx}, 0x5a5a1234, 0xc3c30000, 0xa5a5a5a5, 0x3c3c0000, OF|SF|ZF|AF|PF|CF  ; divide by zero
    DE  {div bx}, 0x5a5a0000, 0xc3c30002, 0xa5a5a5a5, 0x3c3c0002, ZF|CF  ; quotient 10000h
    DE  {div ebx}, 0x12345678, 0x00000000, 0xa5a5a5a5, 0x00000000, OF|SF|ZF|AF|PF|CF  ; divide by zero
    DEM {div dword [MB]}, 0x00000000, 0x00000002, 0xa5a5a5a5, 0x00000002, ZF|CF  ; quotient 2^32
    DE  {div ebx}, 0xffffffff, 0xffffffff, 0xa5a5a5a5, 0xffffffff, OF|SF|ZF|AF|PF|CF  ; EDX = divisor
    DE  {idiv bl}, 0x5a5a1234, 0xc3c3c300, 0xa5a5a5a5, 0x3c3c3c3c, ZF|CF  ; divide by zero
    DE  {idiv bl}, 0x5a5a8000, 0xc3c3c3ff, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF  ; -32768 / -1
    DE  {idiv bl}, 0x5a5aff80, 0xc3c3c3ff, 0xa5a5a5a5, 0x3c3c3c3c, ZF|CF  ; -128 / -1 = 128
    DE  {idiv bl}, 0x5a5a0100, 0xc3c3c302, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF  ; 256 / 2 = 128
    DEM {idiv byte [MB]}, 0x5a5afefe, 0xc3c3c302, 0xa5a5a5a5, 0x3c3c3c3c, ZF|CF  ; -258 / 2 = -129
    DE  {idiv bx}, 0x5a5a1234, 0xc3c30000, 0xa5a5a5a5, 0x3c3c0000, OF|SF|ZF|AF|PF|CF  ; divide by zero
    DE  {idiv bx}, 0x5a5a8000, 0xc3c3ffff, 0xa5a5a5a5, 0x3c3cffff, ZF|CF  ; -32768 / -1
%ifndef QEMU
    ; SDM "IDIV": #DE when the quotient is too large for the destination. QEMU 7.2
    ; (helper_idivw_AX) divides in a host int and dies of SIGFPE
    ; (INT_MIN / -1) instead of raising #DE; Bochs gets it right.
    DEM {idiv word [MB]}, 0x5a5a0000, 0xc3c3ffff, 0xa5a5a5a5, 0x3c3c8000, OF|SF|ZF|AF|PF|CF  ; -2^31 / -1
%endif
    DE  {idiv ebx}, 0x12345678, 0x00000000, 0xa5a5a5a5, 0x00000000, ZF|CF  ; divide by zero
    DE  {idiv ebx}, 0x80000000, 0xffffffff, 0xa5a5a5a5, 0xffffffff, OF|SF|ZF|AF|PF|CF  ; -2^31 / -1
%ifndef QEMU
    ; SDM "IDIV": #DE when the quotient is too large. QEMU 7.2 (helper_idivl_EAX)
    ; divides in a host int64 and dies of SIGFPE (INT64_MIN / -1) instead.
    DEM {idiv dword [MB]}, 0x00000000, 0xffffffff, 0xa5a5a5a5, 0x80000000, ZF|CF  ; -2^63 / -1
%endif
    DE  {idiv ebx}, 0x80000000, 0x00000001, 0xa5a5a5a5, 0x00000000, OF|SF|ZF|AF|PF|CF  ; 2^31 / 1

%endmacro


; ---------------------------------------------------------------------------------
CODE16
main:
    INSTALL_RM_HANDLERS
    PRINT "muldiv: real mode", 10
%define MODE_CS 0xf000
%define XA a32
    SUITE
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "muldiv: protected mode", 10
%define MODE_CS SEL_CODE32
%define XA a16
    SUITE
    PASS

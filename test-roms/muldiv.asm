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

; ---------------------------------------------------------------------------------
; Case harness (local to this ROM; the rom.inc CHECK macros would put a separate
; message string per check and per mode into .rodata, too much for hundreds of cases).
;
;   T  insn, eax, ebx, ecx, edx, flags_in, mask, flags_exp, loc, exp [, loc, exp]...
;   TM the same, and first stores the eax value to dword [MA], the ebx value to [MB]
; loads EAX..EDX (a value "-": that register is not used by the case and not loaded),
; loads EFLAGS = flags_in | 2 (only arithmetic flags, never TF/IF/DF),
; executes insn, then checks (EFLAGS & mask) == flags_exp and every loc (a 32-bit
; register or dword [mem]) == exp, through chk16 / chk32. A failure prints
;   FAIL: <mode>: #<case> <insn>: <loc> got X expected Y      or
;   FAIL: <mode>: #<case> <insn>: flags got X expected Y (mask M)
; Cases are numbered from 1 in each mode; both modes run the same list (SUITE).
; XA is an address-size prefix selecting the other address size (a32 in real mode,
; a16 in protected mode), for the cases that exercise it.
; ---------------------------------------------------------------------------------
CF equ FL_CF
PF equ FL_PF
AF equ FL_AF
ZF equ FL_ZF
SF equ FL_SF
OF equ FL_OF
ARITH equ FL_ARITH
MA equ VAR_SCRATCH + 0x40       ; 0x580: memory operand (gets the eax input)
MB equ VAR_SCRATCH + 0x44       ; 0x584: memory operand (gets the ebx input)

%assign CASE_NO 0

; _STR label, "text": a string in .rodata
%macro _STR 2
[section .rodata]
%1: db %2, 0
__?SECT?__
%endmacro

; _PTR label: push the address of a .rodata string (offset in F000 / linear)
%macro _PTR 1
%if __?BITS?__ == 16
    push word %1
%else
    push dword %1 + 0xF0000
%endif
%endmacro

; _CHECKVAL loc, expected, (mask << 16) | flags_exp, string label for loc
; (EFLAGS already pushed; the case name is case_name_<bits>_<CASE_NO>)
%macro _CHECKVAL 4
    push dword %1
    push dword %2
    push dword %3
    _PTR %4
    _PTR case_name_%[__?BITS?__]_%[CASE_NO]
%if __?BITS?__ == 16
    call chk16
%else
    call chk32
%endif
%endmacro

; _CHECKLOC loc, expected, (mask << 16) | flags_exp: the same, naming loc by its text
%macro _CHECKLOC 3
%assign _K _K+1
%defstr %%l %1
    _STR case_loc_%[__?BITS?__]_%[CASE_NO]_%[_K], %%l
    _CHECKVAL %1, %2, %3, case_loc_%[__?BITS?__]_%[CASE_NO]_%[_K]
%endmacro

; _NAME insn [, suffix]: start a case: number it and define its name string
%macro _NAME 1-2 ""
%assign CASE_NO CASE_NO+1
%assign _K 0
%defstr %%t %1
%defstr %%n CASE_NO
%strcat %%s "#", %%n, " ", %%t, %2
    _STR case_name_%[__?BITS?__]_%[CASE_NO], %%s
%endmacro

; _LD reg, value: load a register unless the value is "-" (the case does not use it)
%macro _LD 2
%ifnidn %2, -
    mov %1, %2
%endif
%endmacro

%macro _T 11-* ; mem, insn, eax, ebx, ecx, edx, flags_in, mask, flags_exp, loc, exp, ...
    _NAME {%2}
    _LD eax, %3
    _LD ebx, %4
    _LD ecx, %5
    _LD edx, %6
%if %1
    mov [MA], eax
    mov [MB], ebx
%endif
    push dword (%7) | 2
    popfd
    %2
    pushfd
    _CHECKLOC %10, %11, ((%8) << 16) | ((%9) & (%8))
%rotate 11
%rep (%0 - 11) / 2
    pushfd
    _CHECKLOC %1, %2, 0
%rotate 2
%endrep
%endmacro

%macro T 10-*
    _T 0, {%1}, %{2:-1}
%endmacro
%macro TM 10-*
    _T 1, {%1}, %{2:-1}
%endmacro


; DE  insn, eax, ebx, ecx, edx, flags_in     (DEM: also [MA] = eax, [MB] = ebx)
; insn must raise #DE (vector 0, no error code) as a fault: exactly one exception,
; saved CS:EIP = insn itself, and EAX..EDX and the arithmetic flags unchanged
; (SDM Vol. 3 6.5: a fault restores the state prior to the faulting instruction).
_STR str_exc_count, "exception count"
_STR str_exc_vector, "vector"
_STR str_exc_eip, "saved EIP"
_STR str_exc_cs, "saved CS"
_STR str_eax, "eax"
_STR str_ebx, "ebx"
_STR str_ecx, "ecx"
_STR str_edx, "edx"

%macro _DE 7 ; mem, insn, eax, ebx, ecx, edx, flags_in
    _NAME {%2}, " (#DE)"
    mov dword [VAR_EXC_COUNT], 0
    mov dword [VAR_EXC_RECOVER], %%rec
    mov eax, %3
    mov ebx, %4
    mov ecx, %5
    mov edx, %6
%if %1
    mov [MA], eax
    mov [MB], ebx
%endif
    push dword (%7) | 2
    popfd
%%insn:
    %2
%%rec:
    pushfd
    _CHECKVAL [VAR_EXC_COUNT], 1, (ARITH << 16) | ((%7) & ARITH), str_exc_count
    pushfd
    _CHECKVAL [VAR_EXC_VECTOR], 0, 0, str_exc_vector
    pushfd
    _CHECKVAL [VAR_EXC_EIP], %%insn, 0, str_exc_eip
    pushfd
    _CHECKVAL [VAR_EXC_CS], MODE_CS, 0, str_exc_cs
    pushfd
    _CHECKVAL eax, %3, 0, str_eax
    pushfd
    _CHECKVAL ebx, %4, 0, str_ebx
    pushfd
    _CHECKVAL ecx, %5, 0, str_ecx
    pushfd
    _CHECKVAL edx, %6, 0, str_edx
    mov dword [VAR_EXC_COUNT], 0
%endmacro

%macro DE 6
    _DE 0, {%1}, %{2:-1}
%endmacro
%macro DEM 6
    _DE 1, {%1}, %{2:-1}
%endmacro


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

; chk16 / chk32: stack (from the top, after the return address): name, loc string
; (words in 16-bit code, dwords in 32-bit code), then dwords (mask << 16 | flags_exp),
; expected, got, EFLAGS; all popped on return.
CODE16
chk16:
    push bp
    mov bp, sp
    push eax
    mov eax, [bp+16]
    cmp eax, [bp+12]
    jne .value
    mov ax, [bp+20]
    and ax, [bp+10]
    cmp ax, [bp+8]
    jne .flags
    pop eax
    pop bp
    ret 20
.value:
    PRINT "FAIL: real mode: "
    mov si, [bp+4]
    call rom_puts16
    PRINT ": "
    mov si, [bp+6]
    call rom_puts16
    PRINT " got "
    PRINT_HEX [bp+16]
    PRINT " expected "
    PRINT_HEX [bp+12]
    PRINT 10
    EXIT 1
.flags:
    PRINT "FAIL: real mode: "
    mov si, [bp+4]
    call rom_puts16
    PRINT ": flags got "
    movzx eax, word [bp+20]
    and ax, [bp+10]
    PRINT_HEX eax
    PRINT " expected "
    movzx eax, word [bp+8]
    PRINT_HEX eax
    PRINT " (mask "
    movzx eax, word [bp+10]
    PRINT_HEX eax
    PRINT ")", 10
    EXIT 1

CODE32
chk32:
    push ebp
    mov ebp, esp
    push eax
    mov eax, [ebp+24]
    cmp eax, [ebp+20]
    jne .value
    mov ax, [ebp+28]
    and ax, [ebp+18]
    cmp ax, [ebp+16]
    jne .flags
    pop eax
    pop ebp
    ret 24
.value:
    PRINT "FAIL: pm32: "
    mov esi, [ebp+8]
    call rom_puts32
    PRINT ": "
    mov esi, [ebp+12]
    call rom_puts32
    PRINT " got "
    PRINT_HEX [ebp+24]
    PRINT " expected "
    PRINT_HEX [ebp+20]
    PRINT 10
    EXIT 1
.flags:
    PRINT "FAIL: pm32: "
    mov esi, [ebp+8]
    call rom_puts32
    PRINT ": flags got "
    movzx eax, word [ebp+28]
    and ax, [ebp+18]
    PRINT_HEX eax
    PRINT " expected "
    movzx eax, word [ebp+16]
    PRINT_HEX eax
    PRINT " (mask "
    movzx eax, word [ebp+18]
    PRINT_HEX eax
    PRINT ")", 10
    EXIT 1


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

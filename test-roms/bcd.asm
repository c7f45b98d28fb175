; bcd.asm: the decimal adjust instructions DAA DAS AAA AAS AAM AAD, in real mode and in
; 32-bit protected mode (they are invalid only in 64-bit mode, which this CPU lacks).
;
; What is checked (Intel SDM Vol. 2, the operation pseudocode and "Flags Affected" of
; each page; only the flags each page defines):
;   DAA DAS   AL per the pseudocode (the second adjustment tests the ORIGINAL AL > 99h
;             or the original CF; for DAS a borrow out of AL - 6 also sets CF);
;             CF AF SF ZF PF checked, OF undefined. AH and upper EAX unchanged.
;   AAA AAS   AX + 106h / AX - 6, AH - 1 (carry/borrow between AL and AH included),
;             AL high nibble cleared; AF CF checked, OF SF ZF PF undefined; upper EAX
;             unchanged.
;   AAM AAD   with base 10 (D4 0A / D5 0A) and other bases (the imm8 form, incl. 0 for
;             AAD); SF ZF PF checked, OF AF CF undefined.
;   AAM 0     #DE: exactly one exception, vector 0, saved CS:EIP = the AAM (a fault),
;             EAX..EDX and the flags unchanged.
; Checked flags that are not inputs are loaded opposite to their expected value.

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

    ; ---- DAA (SDM "DAA"): CF AF SF ZF PF defined (OF undefined); the second adjustment tests the original AL > 99h or the original CF
    T   {daa}, 0x5a5a120a, -, -, -, OF|SF|ZF|PF, ARITH-OF, AF, eax, 0x5a5a1210  ; low digit > 9: +6, AF
    T   {daa}, 0x5a5a129a, -, -, -, SF, ARITH-OF, ZF|AF|PF|CF, eax, 0x5a5a1200  ; +66h: 00, CF AF ZF PF
    T   {daa}, 0x5a5a1299, -, -, -, OF|ZF, ARITH-OF, SF|PF, eax, 0x5a5a1299  ; valid BCD 99: unchanged, SF PF, AF CF clear
    T   {daa}, 0x5a5a1200, -, -, -, SF|ZF|AF, ARITH-OF, AF|PF, eax, 0x5a5a1206  ; AF in: +6
    T   {daa}, 0x5a5a1200, -, -, -, OF|SF|ZF|CF, ARITH-OF, PF|CF, eax, 0x5a5a1260  ; CF in: +60h, CF
    T   {daa}, 0x5a5a127f, -, -, -, ZF|PF, ARITH-OF, SF|AF, eax, 0x5a5a1285  ; 7f -> 85: AF, SF, no CF
    T   {daa}, 0x5a5a12fa, -, -, -, OF|SF|ZF, ARITH-OF, AF|PF|CF, eax, 0x5a5a1260  ; fa: +6 carries, then +60h: 60, CF AF
    T   {daa}, 0x5a5a1291, -, -, -, ZF|AF|PF|CF, ARITH-OF, SF|AF|CF, eax, 0x5a5a12f7  ; AF and CF in: f7
    T   {daa}, 0x5a5a12a0, -, -, -, OF|SF, ARITH-OF, ZF|PF|CF, eax, 0x5a5a1200  ; a0 > 99: +60h -> 00, CF ZF PF, AF clear

    ; ---- DAS (SDM "DAS"): CF AF SF ZF PF defined (OF undefined); CF also set by a borrow of AL - 6
    T   {das}, 0x5a5a120a, -, -, -, SF|ZF|PF, ARITH-OF, AF, eax, 0x5a5a1204  ; low digit > 9: -6 -> 04, AF
    T   {das}, 0x5a5a1200, -, -, -, OF|ZF|AF, ARITH-OF, SF|AF|PF|CF, eax, 0x5a5a12fa  ; AF in, AL < 6: borrow -> fa, CF AF
    T   {das}, 0x5a5a129a, -, -, -, SF|ZF|PF, ARITH-OF, AF|CF, eax, 0x5a5a1234  ; 9a -> 34, CF AF
    T   {das}, 0x5a5a12a0, -, -, -, OF|SF|ZF|PF, ARITH-OF, CF, eax, 0x5a5a1240  ; a0 -> 40, CF
    T   {das}, 0x5a5a1266, -, -, -, SF|ZF|CF, ARITH-OF, PF|CF, eax, 0x5a5a1206  ; CF in: 06, CF
    T   {das}, 0x5a5a1200, -, -, -, OF|SF, ARITH-OF, ZF|PF, eax, 0x5a5a1200  ; 00: unchanged, ZF PF
    T   {das}, 0x5a5a1299, -, -, -, ZF, ARITH-OF, SF|PF, eax, 0x5a5a1299  ; valid BCD 99: unchanged, SF PF
    T   {das}, 0x5a5a1210, -, -, -, OF|ZF|AF|CF, ARITH-OF, SF|AF|PF|CF, eax, 0x5a5a12aa  ; AF and CF in: aa

    ; ---- AAA (SDM "AAA"): AX + 106h when AL low digit > 9 or AF; AF = CF = that condition; AL high nibble cleared; OF SF ZF PF undefined
    T   {aaa}, 0x5a5a0009, -, -, -, 0, AF|CF, 0, eax, 0x5a5a0009  ; no adjust: AF = CF = 0
    T   {aaa}, 0x5a5a000a, -, -, -, OF|SF|ZF|PF, AF|CF, AF|CF, eax, 0x5a5a0100  ; adjust: 0100, AF CF
    T   {aaa}, 0x5a5a01fa, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0300  ; AL fa: AX + 106h carries into AH: 0300
    T   {aaa}, 0x5a5a0005, -, -, -, OF|SF|ZF|AF|PF, AF|CF, AF|CF, eax, 0x5a5a010b  ; AF in: 0005 -> 010b
    T   {aaa}, 0x5a5aff0a, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0000  ; AH ff wraps to 00, upper EAX kept
    T   {aaa}, 0x5a5a0079, -, -, -, OF|SF|ZF|PF|CF, AF|CF, 0, eax, 0x5a5a0009  ; CF in does not matter: 0009, CF cleared

    ; ---- AAS (SDM "AAS"): AX - 6 and AH - 1 when AL low digit > 9 or AF; AF = CF = that condition; AL high nibble cleared; OF SF ZF PF undefined
    T   {aas}, 0x5a5a0205, -, -, -, AF, AF|CF, AF|CF, eax, 0x5a5a000f  ; AF in: AL - 6 borrows from AH: 000f
    T   {aas}, 0x5a5a0100, -, -, -, OF|SF|ZF|PF, AF|CF, 0, eax, 0x5a5a0100  ; no adjust: 0100
    T   {aas}, 0x5a5a010a, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0004  ; adjust: 0004
    T   {aas}, 0x5a5a0003, -, -, -, OF|SF|ZF|AF|PF, AF|CF, AF|CF, eax, 0x5a5afe0d  ; AH 00 wraps: fe0d, upper EAX kept
    T   {aas}, 0x5a5a00f9, -, -, -, CF, AF|CF, 0, eax, 0x5a5a0009  ; CF in does not matter: 0009, CF cleared

    ; ---- AAM (SDM "AAM"): AH = AL / imm8, AL = AL mod imm8 (D4 ib, any base); SF ZF PF from AL; OF AF CF undefined
    T   {aam}, 0x5a5a1263, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0909  ; 99 -> 0909
    T   {aam}, 0x5a5a1200, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0000  ; 0 -> ZF PF
    T   {aam 16}, 0x5a5a12ff, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0f0f  ; base 16: 0f0f
    T   {aam 7}, 0x5a5a1264, -, -, -, SF|ZF|PF, SF|ZF|PF, 0, eax, 0x5a5a0e02  ; base 7: 100 = 14*7 + 2
    T   {aam 255}, 0x5a5a12fe, -, -, -, OF|ZF|AF|PF|CF, SF|ZF|PF, SF, eax, 0x5a5a00fe  ; base ff: AL fe, SF
    T   {aam 255}, 0x5a5a12ff, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0100  ; base ff: 0100, ZF

    ; ---- AAD (SDM "AAD"): AL = (AL + AH * imm8) & ff, AH = 0 (D5 ib, any base); SF ZF PF from AL; OF AF CF undefined
    T   {aad}, 0x5a5a0909, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0063  ; 0909 -> 99 (63h)
    T   {aad}, 0x5a5a0000, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0000  ; ZF PF
    T   {aad 16}, 0x5a5a0f0f, -, -, -, OF|ZF|AF|CF, SF|ZF|PF, SF|PF, eax, 0x5a5a00ff  ; base 16: ff, SF PF
    T   {aad}, 0x5a5a1a05, -, -, -, SF|ZF, SF|ZF|PF, PF, eax, 0x5a5a0009  ; 26*10+5 = 265: truncated to 09
    T   {aad 0}, 0x5a5a3456, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0056  ; base 0: AL kept, AH cleared
    T   {aad 7}, 0x5a5a0203, -, -, -, SF|ZF, SF|ZF|PF, PF, eax, 0x5a5a0011  ; base 7: 17 = 11h

    ; ---- AAM 0 (SDM "AAM" exceptions): #DE, a fault: saved EIP = the AAM, registers and flags unchanged
    DE  {aam 0}, 0x5a5a1263, 0xc3c3c3c3, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF
    DE  {aam 0}, 0x5a5a0000, 0xc3c3c3c3, 0xa5a5a5a5, 0x3c3c3c3c, 0

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
    PRINT "bcd: real mode", 10
%define MODE_CS 0xf000
%define XA a32
    SUITE
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "bcd: protected mode", 10
%define MODE_CS SEL_CODE32
%define XA a16
    SUITE
    PASS

; condition.asm: condition codes and flag instructions.
;
; Jcc / SETcc / CMOVcc (SDM Vol. 2A "Jcc-Jump if Condition Is Met", Vol. 2B
; "SETcc-Set Byte on Condition", Vol. 2A "CMOVcc-Conditional Move"; condition table
; Vol. 1 Appendix B "EFLAGS Condition Codes"):
;   - all 16 conditions, each evaluated for 16 flag patterns loaded by POPF (every
;     combination of CF ZF SF OF; PF and AF varied too), so every condition is seen
;     both true and false and every term of BE/A/L/GE/LE/G is exercised.
;   - forms: Jcc rel8, Jcc rel16 (real mode) / rel32 (protected mode), SETcc m8
;     (real mode) / SETcc r8 (protected mode), CMOVcc r32,r32 + r16,m16 (real mode),
;     CMOVcc r16,r16 + r32,m32 (protected mode). None of them changes the flags.
;   - CMOVcc false leaves the destination unchanged (16-bit: upper half too).
;   - CMOVcc reads its memory source even when the condition is false (the SDM
;     Operation does "temp <- SRC" unconditionally; #GP(0) for a NULL segment is in
;     its exception list): checked with FS=NULL in protected mode (Bochs only:
;     QEMU 7.2 does not fault on data accesses through a NULL selector).
;   - Jcc backward, JCXZ/JECXZ (Vol. 2A Jcc page): CX vs ECX chosen by the address
;     size (0x67), flags ignored.
; CLC STC CMC CLD STD (Vol. 2A/2B pages of each): only CF / DF changes.
; PUSHF/PUSHFD, POPF/POPFD (Vol. 2B "PUSHF/PUSHFD", "POPF/POPFD", Vol. 1 3.4.3
; EFLAGS): in real mode and at CPL 0 every non-reserved flag except VM, VIF, VIP
; (unaffected) and RF (always 0 after POPF) is written; bit 1 reads 1, bits 3, 5, 15
; and 22-31 read 0; AC (18) and ID (21) are writable (486+/Pentium); 16-bit POPF
; leaves EFLAGS 16-31 alone; stack pointer moves by 2 or 4. IF and TF are kept 0 in
; every value popped (no interrupts or traps in this ROM).
; LAHF / SAHF (Vol. 2A "LAHF", Vol. 2B "SAHF").
%include "rom.inc"

RES     equ 0x560               ; 5 x 16 result bytes (0x560-0x5af)
ONE     equ 0x5f0               ; dword 1 (memory source for CMOVcc)
NFORMS  equ 5

; ---- per-form macros: result byte = condition true ? 1 : 0, flags untouched ----
%macro T_JSHORT 2
    mov byte [RES + 0*16 + %2], 0
    j%1 short %%t
    jmp short %%n
%%t: mov byte [RES + 0*16 + %2], 1
%%n:
%endmacro
%macro T_JNEAR 2
    mov byte [RES + 1*16 + %2], 0
    j%1 near %%t
    jmp near %%n
%%t: mov byte [RES + 1*16 + %2], 1
%%n:
%endmacro
%macro T_SETM 2
    set%1 [RES + 2*16 + %2]
%endmacro
%macro T_SETR 2
    mov dl, 0xee
    set%1 dl
    mov [RES + 2*16 + %2], dl
%endmacro
%macro T_CMOV32R 2              ; cmov r32,r32
    mov eax, 0                  ; (not XOR: flags must survive)
    cmov%1 eax, ecx             ; ecx = 1
    mov [RES + 3*16 + %2], al
%endmacro
%macro T_CMOV16R 2              ; cmov r16,r16
    mov eax, 0xffff0000
    cmov%1 ax, cx               ; cx = 1
    mov [RES + 3*16 + %2], al
%endmacro
%macro T_CMOV16M 2              ; cmov r16,m16
    mov eax, 0xffff0000
    cmov%1 ax, [ONE]
    mov [RES + 4*16 + %2], al
%endmacro
%macro T_CMOV32M 2              ; cmov r32,m32
    mov eax, 0                  ; (not XOR: flags must survive)
    cmov%1 eax, [ONE]
    mov [RES + 4*16 + %2], al
%endmacro

; FOR_ALL_CC m: expand m(cc name, cc number) for the 16 conditions
%macro FOR_ALL_CC 1
    %1 o, 0
    %1 no, 1
    %1 b, 2
    %1 ae, 3
    %1 e, 4
    %1 ne, 5
    %1 be, 6
    %1 a, 7
    %1 s, 8
    %1 ns, 9
    %1 p, 10
    %1 np, 11
    %1 l, 12
    %1 ge, 13
    %1 le, 14
    %1 g, 15
%endmacro

; ---- pattern table: dw flags, db 16 expected results, db pad ----
; Expected results written from the SDM condition table:
;   O: OF=1  B: CF=1  E: ZF=1  BE: CF=1 or ZF=1  S: SF=1  P: PF=1
;   L: SF!=OF  LE: ZF=1 or SF!=OF  (odd codes are the negations)
[section .rodata]
align 4
patterns:
%assign i 0
%rep 16
%assign p_cf (i & 1)
%assign p_zf ((i >> 1) & 1)
%assign p_sf ((i >> 2) & 1)
%assign p_of ((i >> 3) & 1)
%assign p_pf (1 ^ ((i ^ (i >> 1) ^ (i >> 2)) & 1))
%assign p_af ((i >> 1) & 1) ^ p_of
%assign p_fl (p_cf | (p_pf << 2) | (p_af << 4) | (p_zf << 6) | (p_sf << 7) | (p_of << 11) | 2)
%assign c_be (p_cf | p_zf)
%assign c_l (p_sf ^ p_of)
%assign c_le (p_zf | c_l)
    dw p_fl
    db p_of, 1-p_of, p_cf, 1-p_cf, p_zf, 1-p_zf, c_be, 1-c_be, p_sf, 1-p_sf, p_pf, 1-p_pf, c_l, 1-c_l, c_le, 1-c_le
    dw 0
%assign i i + 1
%endrep
PATTERN_SIZE equ 20
__?SECT?__

CODE16
main:
    PRINT "condition: real mode", 10
    INSTALL_RM_HANDLERS
    mov dword [ONE], 1

    ; ---- all conditions x all flag patterns ----
    mov si, patterns
.pat:
    call rm_run_conditions
    add si, PATTERN_SIZE
    cmp si, patterns + 16 * PATTERN_SIZE
    jb .pat

    ; ---- CMOVcc false keeps the destination, 16-bit keeps the upper half ----
    mov eax, 0x12345678
    mov ecx, 0xaaaabbbb
    SETF16 FL_ZF
    cmovnz eax, ecx
    CHECK32 eax, 0x12345678, "cmovnz false: eax unchanged"
    cmovz ax, cx
    CHECK32 eax, 0x1234bbbb, "cmovz ax,cx true: upper half kept"

    ; ---- backward Jcc, JCXZ / JECXZ ----
    SETF16 FL_CF
    mov bx, 0
    jmp short .bfwd
.bback:
    inc bx
    jmp short .bdone
.bfwd:
    jc .bback                   ; short backward
.bdone:
    CHECK16 bx, 1, "jc short backward"
    mov ecx, 0x00010000         ; CX = 0, ECX != 0
    SETF16 0
    mov bx, 0
    jcxz .j1
    mov bx, 1
.j1:
    CHECK16 bx, 0, "jcxz taken with cx=0 (ecx=0x10000)"
    mov bx, 0
    jecxz .j2                   ; 67 E3
    mov bx, 1
.j2:
    CHECK16 bx, 1, "a32 jecxz not taken with ecx=0x10000"
    xor ecx, ecx
    SETF16 FL_ARITH             ; flags are ignored
    mov bx, 0
    jecxz .j3
    mov bx, 1
.j3:
    CHECK16 bx, 0, "a32 jecxz taken with ecx=0"

    ; ---- CLC STC CMC CLD STD ----
    SETF16 FL_ARITH
    clc
    CHECK_FLAGS FL_ARITH|FL_DF, FL_ARITH & ~FL_CF, "clc"
    stc
    CHECK_FLAGS FL_ARITH|FL_DF, FL_ARITH, "stc"
    cmc
    CHECK_FLAGS FL_ARITH|FL_DF, FL_ARITH & ~FL_CF, "cmc 1->0"
    SETF16 0
    cmc
    CHECK_FLAGS FL_ARITH|FL_DF, FL_CF, "cmc 0->1"
    clc
    CHECK_FLAGS FL_ARITH|FL_DF, 0, "clc (was 1)"
    stc
    CHECK_FLAGS FL_ARITH|FL_DF, FL_CF, "stc (was 0)"
    SETF16 FL_ZF|FL_OF
    std
    pushf
    pop ax
    cld
    CHECK16 ax, FL_DF|FL_ZF|FL_OF|2, "std sets only DF"
    SETF16 FL_DF|FL_SF
    cld
    CHECK_FLAGS FL_ARITH|FL_DF, FL_SF, "cld clears only DF"

    ; ---- PUSHF / POPF, 16-bit ----
    mov bx, sp
    push word 0xfcff            ; all but TF IF: reserved bits 3 5 15 stay 0
    popf
    pushf
    pop ax
    mov cx, sp
    SETF16 0
    CHECK16 ax, 0x7cd7, "popf 0xfcff / pushf"
    sub bx, cx
    CHECK16 bx, 0, "pushf/popf move sp by 2"
    mov bx, sp
    push word 0x0000
    popf
    pushf
    sub bx, sp
    pop ax
    CHECK16 ax, 0x0002, "popf 0 / pushf: bit 1 reads 1"
    CHECK16 bx, 2, "pushf decrements sp by 2"

    ; ---- PUSHFD / POPFD in real mode (0x66) ----
    mov bx, sp
    push dword 0xfffffcff       ; AC ID set; VM VIF VIP RF and reserved bits ignored
    popfd
    pushfd
    pop eax
    mov cx, sp
    SETF32 0
    CHECK32 eax, 0x00247cd7, "popfd 0xfffffcff / pushfd (real mode)"
    sub bx, cx
    CHECK16 bx, 0, "pushfd/popfd move sp by 4"
    SETF32 0
    mov bx, sp
    pushfd
    sub bx, sp
    pop eax
    CHECK16 bx, 4, "pushfd decrements sp by 4"
    CHECK32 eax, 0x00000002, "popfd 0 / pushfd"
    ; 16-bit POPF leaves EFLAGS 31:16 (AC) alone
    SETF32 0x00040000           ; AC
    SETF16 FL_CF
    pushfd
    pop eax
    SETF32 0
    CHECK32 eax, 0x00040003, "16-bit popf keeps AC"

    ; ---- LAHF / SAHF ----
    SETF16 FL_SF|FL_PF|FL_OF
    mov ax, 0xffff
    lahf
    CHECK16 ax, 0x86ff, "lahf SF PF"
    SETF16 FL_ZF|FL_AF|FL_CF
    lahf
    CHECK16 ax, 0x53ff, "lahf ZF AF CF"
    mov ah, 0xd5 & ~FL_ZF       ; SF AF PF CF
    SETF16 FL_ZF|FL_OF
    sahf
    CHECK_FLAGS FL_ARITH|FL_DF, FL_SF|FL_AF|FL_PF|FL_CF|FL_OF, "sahf SF AF PF CF (OF kept)"
    mov ah, 0x40 | 0x2a         ; ZF plus reserved bits 1 3 5
    sahf
    pushf
    pop bx
    CHECK16 bx, FL_ZF|FL_OF|2, "sahf ZF: bits 3 5 stay 0, bit 1 stays 1"

    ENTER_PM32 pm_main

; run the 16-bit forms for the pattern at cs:si and compare
rm_run_conditions:
    mov ecx, 1
    push word [cs:si]
    popf
    FOR_ALL_CC T_JSHORT
    FOR_ALL_CC T_JNEAR
    FOR_ALL_CC T_SETM
    FOR_ALL_CC T_CMOV32R
    FOR_ALL_CC T_CMOV16M
    pushf
    pop ax
    cmp ax, [cs:si]
    je .flags_ok
    PRINT "flags pattern "
    movzx ecx, word [cs:si]
    PRINT_HEX ecx
    PRINT 10
    FAIL "Jcc/SETcc/CMOVcc changed the flags"
.flags_ok:
    xor di, di
.cmp:
    mov bx, di
    and bx, 15
    mov eax, [RES + di]
    cmp eax, [cs:bx + si + 2]
    jne .bad
    add di, 4
    cmp di, NFORMS * 16
    jb .cmp
    ret
.bad:
    PRINT "flags pattern "
    movzx ecx, word [cs:si]
    PRINT_HEX ecx
    PRINT ", result offset (form*16+cc) "
    movzx ecx, di
    PRINT_HEX ecx
    PRINT 10
    CHECK32 eax, [cs:bx + si + 2], "conditions (forms: jcc8 jcc16 setcc cmov32 cmov16m; bytes in cc order o no b ae e ne be a s ns p np l ge le g)"
    FAIL "unreachable"

CODE32
pm_main:
    PRINT "condition: protected mode", 10
    mov esi, patterns + 0xf0000
.pat:
    call pm_run_conditions
    add esi, PATTERN_SIZE
    cmp esi, patterns + 0xf0000 + 16 * PATTERN_SIZE
    jb .pat

    ; ---- JCXZ (0x67) / JECXZ in 32-bit code ----
    mov ecx, 0x00010000
    mov ebx, 0
    jcxz .j1                    ; 67 E3: CX = 0
    mov ebx, 1
.j1:
    CHECK32 ebx, 0, "pm a16 jcxz taken with cx=0"
    mov ebx, 0
    jecxz .j2
    mov ebx, 1
.j2:
    CHECK32 ebx, 1, "pm jecxz not taken with ecx=0x10000"
    ; near backward Jcc
    SETF32 FL_OF
    mov ebx, 0
    jmp near .bfwd
.bback:
    inc ebx
    jmp near .bdone
    times 130 db 0xcc
.bfwd:
    jo near .bback
.bdone:
    CHECK32 ebx, 1, "pm jo near backward"

    ; ---- CMOVcc false still reads its memory source ----
%ifndef QEMU
    ; QEMU 7.2 does not check NULL data segments; SDM CMOVcc Operation reads SRC
    ; unconditionally, #GP(0) for a NULL DS/ES/FS/GS selector.
    xor eax, eax
    mov fs, ax
    mov ecx, 0x11111111
    SETF32 0
    SET_RECOVERY .gp1
.cmov_null:
    cmovo ecx, [fs:ONE]         ; condition false
.gp1:
    CHECK_EXC 13, 0, "cmovo false with NULL fs source: #GP(0)"
    CHECK32 [VAR_EXC_EIP], .cmov_null, "cmov #GP eip"
    CHECK32 ecx, 0x11111111, "cmov #GP: destination unchanged"
    mov ax, SEL_DATA32
    mov fs, ax
%endif

    ; ---- PUSHFD / POPFD at CPL 0 ----
    mov ebx, esp
    push dword 0xfffffcff
    popfd
    pushfd
    pop eax
    mov ecx, esp
    SETF32 0
    CHECK32 eax, 0x00247cd7, "pm popfd 0xfffffcff / pushfd"
    sub ebx, ecx
    CHECK32 ebx, 0, "pm pushfd/popfd move esp by 4"
    mov ebx, esp
    pushfd
    sub ebx, esp
    popfd
    CHECK32 ebx, 4, "pm pushfd decrements esp by 4"
    ; o16 PUSHF/POPF in 32-bit code
    SETF32 0x00200000           ; ID
    mov ebx, esp
    push word FL_SF|FL_CF
    popfw                       ; 66 9D
    pushfw                      ; 66 9C
    mov ecx, esp
    pop ax
    pushfd
    pop edx
    SETF32 0
    sub ebx, ecx
    CHECK32 ebx, 2, "pm o16 pushf moves esp by 2"
    CHECK16 ax, FL_SF|FL_CF|2, "pm o16 pushf"
    mov ecx, edx
    CHECK32 ecx, 0x00200000|FL_SF|FL_CF|2, "pm o16 popf keeps ID"

    ; ---- LAHF / SAHF ----
    SETF32 FL_ARITH
    mov eax, 0
    lahf
    CHECK32 eax, 0x0000d700, "pm lahf all set"
    mov ah, 0
    SETF32 FL_ARITH
    sahf
    CHECK_FLAGS FL_ARITH, FL_OF, "pm sahf 0 keeps OF"
    PASS

; run the 32-bit forms for the pattern at [esi] and compare
pm_run_conditions:
    movzx eax, word [esi]
    mov ecx, 1
    push eax
    popfd
    FOR_ALL_CC T_JSHORT
    FOR_ALL_CC T_JNEAR
    FOR_ALL_CC T_SETR
    FOR_ALL_CC T_CMOV16R
    FOR_ALL_CC T_CMOV32M
    pushfd
    pop eax
    cmp ax, [esi]
    je .flags_ok
    PRINT "flags pattern "
    movzx ecx, word [esi]
    PRINT_HEX ecx
    PRINT 10
    FAIL "Jcc/SETcc/CMOVcc changed the flags"
.flags_ok:
    xor ebx, ebx
.cmp:
    mov edi, ebx
    and edi, 15
    mov eax, [RES + ebx]
    cmp eax, [esi + 2 + edi]
    jne .bad
    add ebx, 4
    cmp ebx, NFORMS * 16
    jb .cmp
    ret
.bad:
    PRINT "flags pattern "
    movzx ecx, word [esi]
    PRINT_HEX ecx
    PRINT ", result offset (form*16+cc) "
    PRINT_HEX ebx
    PRINT 10
    CHECK32 eax, [esi + 2 + edi], "conditions (forms: jcc8 jcc32 setcc-r8 cmov16 cmov32m; bytes in cc order o no b ae e ne be a s ns p np l ge le g)"
    FAIL "unreachable"

; control.asm: control transfers.
;
; Real mode (CS=F000, SS=DS=0):
;   JMP rel8 (forward and backward), rel16, rel32 (66 E9), r/m16 (register, [disp16],
;   [ebx] with 67), r/m32 (66 FF /4), far ptr16:16, m16:16, m16:32 (66 FF /5) to another
;   CS value (EF00, same linear code), CS checked.            SDM Vol. 2A "JMP-Jump"
;   CALL rel16, r/m16, rel32 (66 E8: pushes a dword), far ptr16:16, m16:16, m16:32 (66:
;   dword EIP + CS slot; only the low word of the CS slot is checked), RET, RET imm16,
;   RETF, RETF imm16, 66 RET/RETF: SP and pushed return addresses checked.
;                                                          SDM Vol. 2A "CALL", Vol. 2B "RET"
;   LOOP/LOOPE/LOOPNE with CX (and ECX's upper half untouched) and with ECX (67),
;   taken/not taken for every count/ZF combination, flags unchanged, a backward LOOP;
;   JCXZ, JECXZ (67 E3).                                   SDM Vol. 2A "LOOP/LOOPcc", "Jcc"
;   INT n through the IVT: new CS:IP from the IVT, FLAGS/CS/IP pushed, IF and TF
;   cleared in the handler (IF set by STI just before, so no interrupt window; TF set by
;   POPF just before); IRET pops IP/CS/FLAGS.               SDM Vol. 2A "INT n/INTO/INT3",
;                                                          "IRET/IRETD" (real-address mode)
;   Whether an INT n executed with TF=1 is followed by a single-step trap at the
;   handler's first instruction is not checked (a vector 1 handler just resumes).
;   INT3 (CC), INT 3 (CD 03), INTO with OF=1 (vector 4, IP after INTO) and OF=0
;   (nothing); BOUND 16 and 32-bit in range / out of range (#BR, IP of the BOUND).
;                                                          SDM Vol. 2A "BOUND", "INT n"
; 32-bit protected mode (flat CS):
;   JMP rel8/rel32, r/m32 (register, memory), 66 E9 rel16 and 66 FF /4 (EIP truncated to
;   16 bits: "the upper 2 bytes of EIP are cleared"), far ptr16:32 / m16:32 / m16:16 to
;   the 16-bit code segment and back (66 EA ptr16:32 from 16-bit code).
;   CALL rel32, r/m32, far ptr16:32 (same CS and to a 16-bit CS returning with 66 RETF),
;   from 16-bit code 66 9A to 32-bit code, RET imm16, RETF imm16, 66 RET (16-bit pop).
;   LOOP with ECX and with CX (67), LOOPE/LOOPNE, JECXZ/JCXZ (67 E3).
;   INT3, INT 3, INTO, BOUND (16/32) through the IDT: vector, no error code, EIP pushed
;   (next instruction for the traps INT3/INTO, the BOUND itself for #BR).
;                                                          SDM Vol. 3A 6.5 "Exception
;                                                          Classifications", 6.15 (#BR, #OF, #BP)
; Not tested: IP/EIP wrap-around, CS limit violations, call gates and privilege changes.
%include "rom.inc"

RM_ALT_CS   equ 0xef00      ; EF00:(x+0x1000) is the same linear address as F000:x
STUB        equ 0xa000      ; low RAM stub for 16-bit EIP targets in protected mode
                            ; (must be below 64 KiB; free in the rom.inc RAM map)

; CHECK_ESP expected, "what": ESP as it is before the macro (kept in the last scratch dword)
%macro CHECK_ESP 2+
    mov [VAR_SCRATCH+0xbc], esp
    CHECK32 [VAR_SCRATCH+0xbc], %1, %2
%endmacro

CODE16
main:
    PRINT "control: real mode", 10
    INSTALL_RM_HANDLERS
    mov esp, STACK0_TOP

    ; ---------------- JMP near ----------------
    jmp short .j1                   ; EB, forward
    FAIL "jmp rel8 forward"
.j2:
    jmp near .j3                    ; E9 rel16, forward
    FAIL "jmp rel16"
.j1:
    jmp short .j2                   ; EB, backward
    FAIL "jmp rel8 backward"
.j3:
    jmp dword .j4                   ; 66 E9 rel32
    FAIL "jmp rel32 in real mode"
.j4:
    mov ax, .j5
    jmp ax                          ; FF /4 register
    FAIL "jmp r16"
.j5:
    mov word [VAR_SCRATCH], .j6
    jmp word [VAR_SCRATCH]          ; FF /4 [disp16]
    FAIL "jmp m16"
.j6:
    mov ebx, VAR_SCRATCH
    mov word [VAR_SCRATCH+2], .j7
    jmp word [ebx+2]                ; 67 FF /4 [ebx+disp8]
    FAIL "jmp m16 (32-bit address)"
.j7:
    mov eax, .j8                    ; upper half 0
    jmp eax                         ; 66 FF /4
    FAIL "jmp r32 in real mode"
.j8:
    ; ---------------- JMP far ----------------
    jmp RM_ALT_CS:.jf1 + 0x1000     ; EA ptr16:16
    FAIL "jmp ptr16:16"
.jf1:
    mov [VAR_SCRATCH+0x10], cs      ; checked back in F000 (messages are F000 offsets)
    jmp 0xf000:.jf2
.jf2:
    CHECK16 [VAR_SCRATCH+0x10], RM_ALT_CS, "cs after jmp ptr16:16"
    CHECK_SEG cs, 0xf000, "cs after jmp back"
    mov word [VAR_SCRATCH], .jf3 + 0x1000
    mov word [VAR_SCRATCH+2], RM_ALT_CS
    jmp far [VAR_SCRATCH]           ; FF /5 m16:16
    FAIL "jmp m16:16"
.jf3:
    mov [VAR_SCRATCH+0x10], cs
    mov dword [VAR_SCRATCH], .jf4
    mov word [VAR_SCRATCH+4], 0xf000
    jmp dword far [VAR_SCRATCH]     ; 66 FF /5 m16:32
    FAIL "jmp m16:32"
.jf4:
    CHECK_SEG cs, 0xf000, "cs after jmp m16:32"
    CHECK16 [VAR_SCRATCH+0x10], RM_ALT_CS, "cs after jmp m16:16"

    ; ---------------- CALL / RET near ----------------
    call rm_near1                   ; E8 rel16
.c1r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 2, "call rel16: sp in callee"
    CHECK16 [VAR_SCRATCH+4], .c1r, "call rel16: pushed ip"
    CHECK_ESP STACK0_TOP, "ret: sp after"
    mov ax, rm_near1
    call ax                         ; FF /2 register
.c2r:
    CHECK16 [VAR_SCRATCH+4], .c2r, "call r16: pushed ip"
    CHECK_ESP STACK0_TOP, "call r16: sp after"
    mov word [VAR_SCRATCH+0x20], rm_near1
    call word [VAR_SCRATCH+0x20]    ; FF /2 memory
.c3r:
    CHECK16 [VAR_SCRATCH+4], .c3r, "call m16: pushed ip"
    call dword rm_near32            ; 66 E8 rel32: pushes EIP as a dword
.c4r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 4, "66 call rel32: sp in callee"
    CHECK32 [VAR_SCRATCH+4], .c4r, "66 call rel32: pushed eip (dword)"
    CHECK_ESP STACK0_TOP, "66 ret: sp after"
    ; RET imm16
    push word 0x1111
    push word 0x2222
    call rm_ret4
.c5r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 6, "ret imm16: sp in callee"
    CHECK16 [VAR_SCRATCH+4], .c5r, "ret imm16: pushed ip"
    CHECK_ESP STACK0_TOP, "ret 4: sp after"
    ; 66 RET imm16
    push dword 0x33333333
    call dword rm_ret32_4
    CHECK_ESP STACK0_TOP, "66 ret 4: sp after"

    ; ---------------- CALL / RETF far ----------------
    call RM_ALT_CS:rm_far1 + 0x1000 ; 9A ptr16:16
.f1r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 4, "call ptr16:16: sp in callee"
    CHECK16 [VAR_SCRATCH+4], .f1r, "call ptr16:16: pushed ip"
    CHECK16 [VAR_SCRATCH+6], 0xf000, "call ptr16:16: pushed cs"
    CHECK16 [VAR_SCRATCH+8], RM_ALT_CS, "call ptr16:16: cs in callee"
    CHECK_ESP STACK0_TOP, "retf: sp after"
    CHECK_SEG cs, 0xf000, "retf: cs after"
    mov word [VAR_SCRATCH+0x20], rm_far1 + 0x1000
    mov word [VAR_SCRATCH+0x22], RM_ALT_CS
    call far [VAR_SCRATCH+0x20]     ; FF /3 m16:16
.f2r:
    CHECK16 [VAR_SCRATCH+4], .f2r, "call m16:16: pushed ip"
    CHECK16 [VAR_SCRATCH+6], 0xf000, "call m16:16: pushed cs"
    CHECK16 [VAR_SCRATCH+8], RM_ALT_CS, "call m16:16: cs in callee"
    CHECK_ESP STACK0_TOP, "call m16:16: sp after"
    mov dword [VAR_SCRATCH+0x20], rm_far32 + 0x1000
    mov word [VAR_SCRATCH+0x24], RM_ALT_CS
    call far dword [VAR_SCRATCH+0x20] ; 66 FF /3 m16:32
.f3r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 8, "66 call m16:32: sp in callee"
    CHECK32 [VAR_SCRATCH+4], .f3r, "66 call m16:32: pushed eip"
    CHECK16 [VAR_SCRATCH+8], 0xf000, "66 call m16:32: pushed cs (low word)"
    CHECK16 [VAR_SCRATCH+12], RM_ALT_CS, "66 call m16:32: cs in callee"
    CHECK_ESP STACK0_TOP, "66 retf: sp after"
    CHECK_SEG cs, 0xf000, "66 retf: cs after"
    ; RETF imm16
    push word 0x4444
    push word 0x5555
    push word 0x6666
    call 0xf000:rm_retf6
    CHECK_ESP STACK0_TOP, "retf 6: sp after"

    ; ---------------- LOOP family (CX, ECX with 67) ----------------
    ; LOOP: count-1, jump if count != 0; flags unchanged
    mov ecx, 0x00010002
    mov ax, FL_CF | FL_ZF | FL_OF | 2
    push ax
    popf
    loop .l1                        ; CX 2 -> 1: taken
    FAIL "loop cx=2 not taken"
.l1:
    CHECK_FLAGS FL_ARITH, FL_CF | FL_ZF | FL_OF, "loop: flags unchanged"
    CHECK32 ecx, 0x00010001, "loop: cx decremented, ecx upper half kept"
    loop .l2f                       ; CX 1 -> 0: not taken
    jmp .l2
.l2f: FAIL "loop cx=1 taken"
.l2:
    CHECK32 ecx, 0x00010000, "loop to cx=0: ecx upper half kept"
    loop .l3                        ; CX 0 -> FFFF: taken
    FAIL "loop cx=0 not taken"
.l3:
    CHECK32 ecx, 0x0001ffff, "loop cx=0 wraps to ffff"
    mov ecx, 0x00010000
    a32 loop .l4f                   ; ECX 10000 -> FFFF: taken
    FAIL "a32 loop ecx=10000 not taken"
.l4f:
    CHECK32 ecx, 0x0000ffff, "a32 loop: ecx decremented"
    mov ecx, 1
    a32 loop .l5f                   ; ECX 1 -> 0: not taken
    jmp .l5
.l5f: FAIL "a32 loop ecx=1 taken"
.l5:
    CHECK32 ecx, 0, "a32 loop ecx=1 -> 0"
    ; backward LOOP: 3 iterations
    mov cx, 3
    xor si, si
.l6:
    add si, 5
    loop .l6
    CHECK16 si, 15, "backward loop: 3 iterations"
    CHECK16 cx, 0, "backward loop: cx 0"
    ; LOOPE: jump if count != 0 and ZF=1
    mov cx, 2
    cmp ax, ax                      ; ZF=1
    loope .e1
    FAIL "loope cx=2 zf=1 not taken"
.e1:
    CHECK16 cx, 1, "loope: cx decremented"
    CHECK_FLAGS FL_ZF, FL_ZF, "loope: zf unchanged"
    cmp ax, ax
    loope .e2f                      ; cx 1 -> 0, zf=1: not taken
    jmp .e2
.e2f: FAIL "loope cx=1 taken"
.e2:
    mov cx, 5
    or al, 1                        ; ZF=0
    loope .e3f                      ; not taken, cx still decremented
    jmp .e3
.e3f: FAIL "loope zf=0 taken"
.e3:
    CHECK16 cx, 4, "loope zf=0: cx decremented"
    or al, 1                        ; ZF=0
    loopne .e4                      ; ZF=0, cx 4 -> 3: taken
    FAIL "loopne zf=0 not taken"
.e4:
    CHECK16 cx, 3, "loopne: cx decremented"
    cmp ax, ax                      ; ZF=1
    loopne .e5f
    jmp .e5
.e5f: FAIL "loopne zf=1 taken"
.e5:
    CHECK16 cx, 2, "loopne zf=1: cx decremented"
    mov ecx, 0x00020001
    or al, 1                        ; ZF=0
    a32 loopne .e6                  ; ECX 20001 -> 20000: taken
    FAIL "a32 loopne not taken"
.e6:
    CHECK32 ecx, 0x00020000, "a32 loopne: ecx"
    mov ecx, 0x00010001
    cmp ax, ax
    a32 loope .e7                   ; ECX 10001 -> 10000, zf=1: taken
    FAIL "a32 loope not taken"
.e7:
    CHECK32 ecx, 0x00010000, "a32 loope: ecx"
    ; JCXZ / JECXZ (count not changed)
    mov ecx, 0x00010000
    jcxz .z1                        ; CX = 0: taken
    FAIL "jcxz cx=0 not taken"
.z1:
    jecxz .z2f                      ; 67 E3: ECX != 0: not taken
    jmp .z2
.z2f: FAIL "jecxz ecx=10000 taken"
.z2:
    CHECK32 ecx, 0x00010000, "jcxz: ecx unchanged"
    mov ecx, 0x00000001
    jcxz .z3f
    jmp .z3
.z3f: FAIL "jcxz cx=1 taken"
.z3:
    xor ecx, ecx
    jecxz .z4
    FAIL "jecxz ecx=0 not taken"
.z4:

    ; ---------------- INT n / IRET ----------------
    mov word [0x40*4], rm_int40 + 0x1000
    mov word [0x40*4+2], RM_ALT_CS
    mov word [0x01*4], rm_int01     ; see rm_int01
    mov word [0x01*4+2], 0xf000
    mov dword [VAR_SCRATCH+0x30], 0
    mov ax, FL_CF | FL_OF | FL_SF | 2
    push ax
    popf
    sti                             ; IF=1 for the INT only (STI shadow)
    int 0x40
.i1r:
    ; the handler turned CF off and left IF off in the FLAGS image
    CHECK_FLAGS FL_ARITH | FL_IF | FL_TF, FL_OF | FL_SF, "iret: flags popped from the image"
    CHECK_ESP STACK0_TOP, "iret: sp after"
    CHECK_SEG cs, 0xf000, "iret: cs after"
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 6, "int 40: sp in handler"
    CHECK16 [VAR_SCRATCH+4], .i1r, "int 40: pushed ip"
    CHECK16 [VAR_SCRATCH+6], 0xf000, "int 40: pushed cs"
    CHECK16 [VAR_SCRATCH+8], FL_CF | FL_OF | FL_SF | FL_IF | 2, "int 40: pushed flags"
    CHECK16 [VAR_SCRATCH+10], RM_ALT_CS, "int 40: cs from the ivt"
    CHECK16 [VAR_SCRATCH+12], FL_OF | FL_SF | FL_CF | 2, "int 40: flags in the handler (if/tf clear)"
    ; TF set when INT executes: the handler runs with TF=0 and finds TF=1 in the image
    mov ax, FL_TF | FL_ZF | 2
    push ax
    popf
    int 0x40                        ; first instruction executed with TF=1
.i2r:
    CHECK_FLAGS FL_ARITH | FL_TF, FL_ZF, "iret after int with tf: flags"
    CHECK16 [VAR_SCRATCH+8], FL_TF | FL_ZF | 2, "int 40 with tf: pushed flags"
    CHECK16 [VAR_SCRATCH+12], FL_ZF | 2, "int 40 with tf: tf clear in the handler"
    CHECK16 [VAR_SCRATCH+4], .i2r, "int 40 with tf: pushed ip"

    ; ---------------- INT3 / INT 3 / INTO / BOUND (recorder) ----------------
    mov dword [VAR_EXC_COUNT], 0
    SET_RECOVERY .b1
.b0:
    int3                            ; CC
.b1:
    CHECK_EXC 3, 0xffffffff, "int3"
    CHECK32 [VAR_EXC_EIP], .b1, "int3: pushed ip = next instruction"
    CHECK32 [VAR_EXC_CS], 0xf000, "int3: pushed cs"
    SET_RECOVERY .b3
    db 0xcd, 0x03                   ; INT 3 (two-byte form)
.b3:
    CHECK_EXC 3, 0xffffffff, "int 3 (cd 03)"
    CHECK32 [VAR_EXC_EIP], .b3, "int 3 (cd 03): pushed ip"
    ; INTO
    mov al, 0x7f
    add al, 1                       ; OF=1
    SET_RECOVERY .o1
    into
.o1:
    CHECK_EXC 4, 0xffffffff, "into with of=1"
    CHECK32 [VAR_EXC_EIP], .o1, "into: pushed ip = next instruction"
    CHECK32 [VAR_EXC_EFLAGS], FL_OF | FL_SF | FL_AF | 2, "into: pushed flags"
    SET_RECOVERY 0
    mov al, 1
    add al, 1                       ; OF=0
    into
    CHECK_NO_EXC "into with of=0"
    ; BOUND 16-bit: signed words [lower, upper]
    mov word [VAR_SCRATCH], -5
    mov word [VAR_SCRATCH+2], 10
    mov ax, -5
    bound ax, [VAR_SCRATCH]
    mov ax, 10
    bound ax, [VAR_SCRATCH]
    mov ax, 0
    bound ax, [VAR_SCRATCH]
    CHECK_NO_EXC "bound r16 in range"
    SET_RECOVERY .bd1
    mov ax, 11
.bd0:
    bound ax, [VAR_SCRATCH]
.bd1:
    CHECK_EXC 5, 0xffffffff, "bound r16 above upper"
    CHECK32 [VAR_EXC_EIP], .bd0, "bound: pushed ip = the bound"
    SET_RECOVERY .bd3
    mov ax, -6
.bd2:
    bound ax, [VAR_SCRATCH]
.bd3:
    CHECK_EXC 5, 0xffffffff, "bound r16 below lower"
    CHECK32 [VAR_EXC_EIP], .bd2, "bound below: pushed ip"
    SET_RECOVERY .bd4
    mov ax, 0x8000                  ; -32768: below (signed compare)
    bound ax, [VAR_SCRATCH]
.bd4:
    CHECK_EXC 5, 0xffffffff, "bound r16 0x8000 (signed)"
    ; BOUND 32-bit (66 62) with a 32-bit address (67)
    mov dword [VAR_SCRATCH+0x10], 0xffff0000    ; -65536
    mov dword [VAR_SCRATCH+0x14], 0x00010000
    mov ebx, VAR_SCRATCH
    mov eax, 0xffff8000
    bound eax, [ebx+0x10]
    mov eax, 0x00010000
    bound eax, [ebx+0x10]
    CHECK_NO_EXC "bound r32 in range"
    SET_RECOVERY .bd6
    mov eax, 0x00010001
.bd5:
    bound eax, [ebx+0x10]
.bd6:
    CHECK_EXC 5, 0xffffffff, "bound r32 above upper"
    CHECK32 [VAR_EXC_EIP], .bd5, "bound r32: pushed ip"
    CHECK32 eax, 0x00010001, "bound r32: register unchanged"
    SET_RECOVERY .bd7
    mov eax, 0x80000000
    bound eax, [ebx+0x10]
.bd7:
    CHECK_EXC 5, 0xffffffff, "bound r32 0x80000000 (signed)"

    ENTER_PM32 pm_main

; ---- real-mode callees ----
; near: record SP and the word at SS:SP
rm_near1:
    mov [VAR_SCRATCH], esp
    mov bx, sp
    mov ax, [bx]
    mov [VAR_SCRATCH+4], ax
    ret
rm_near32:
    mov [VAR_SCRATCH], esp
    mov bx, sp
    mov eax, [bx]
    mov [VAR_SCRATCH+4], eax
    o32 ret
rm_ret4:
    mov [VAR_SCRATCH], esp
    mov bx, sp
    mov ax, [bx]
    mov [VAR_SCRATCH+4], ax
    ret 4
rm_ret32_4:
    o32 ret 4
; far callee entered as EF00:x+0x1000; records SP, IP, CS pushed and its own CS
rm_far1:
    mov [VAR_SCRATCH], esp
    mov bx, sp
    mov eax, [bx]
    mov [VAR_SCRATCH+4], eax
    mov [VAR_SCRATCH+8], cs
    retf
rm_far32:
    mov [VAR_SCRATCH], esp
    mov bx, sp
    mov eax, [bx]
    mov [VAR_SCRATCH+4], eax
    mov eax, [bx+4]
    mov [VAR_SCRATCH+8], eax
    mov [VAR_SCRATCH+12], cs
    o32 retf
rm_retf6:
    retf 6
; INT 40 handler (entered as EF00:x+0x1000): records SP, IP, CS, FLAGS pushed, its CS
; and its FLAGS, then clears CF, TF and IF in the image and returns.
rm_int40:
    pushf
    pop word [VAR_SCRATCH+12]
    mov [VAR_SCRATCH], esp
    mov [VAR_SCRATCH+10], cs
    mov bx, sp
    mov eax, [bx]
    mov [VAR_SCRATCH+4], eax
    mov ax, [bx+4]
    mov [VAR_SCRATCH+8], ax
    and word [bx+4], ~(FL_CF | FL_TF | FL_IF)
    iret
; Vector 1. An INT n executed with TF=1 clears TF for its handler; whether a single-step
; trap is also delivered at the handler's first instruction is not something this ROM
; checks (reference emulators differ): just count it and resume.
rm_int01:
    inc dword [VAR_SCRATCH+0x30]
    iret

CODE32
pm_main:
    PRINT "control: protected mode", 10
    ; ---------------- JMP near ----------------
    jmp short .j1                   ; EB
    FAIL "pm jmp rel8"
.j2:
    jmp near .j3                    ; E9 rel32
    FAIL "pm jmp rel32"
.j1:
    jmp short .j2                   ; EB backward
    FAIL "pm jmp rel8 backward"
.j3:
    mov eax, .j4
    jmp eax
    FAIL "pm jmp r32"
.j4:
    mov dword [VAR_SCRATCH], .j5
    jmp [VAR_SCRATCH]
    FAIL "pm jmp m32"
.j5:
    mov ebx, VAR_SCRATCH
    mov dword [ebx+8], .j6
    mov esi, 2
    jmp [ebx+esi*4]
    FAIL "pm jmp m32 sib"
.j6:
    ; 16-bit operand size: EIP = target & 0xffff. The stub at STUB does "jmp ebx".
    mov word [STUB], 0xe3ff         ; FF E3 = jmp ebx
    mov ebx, .j7
    db 0x66, 0xe9                   ; jmp rel16: (EIP + rel16) & 0xffff = STUB
    dw (STUB - (($ - $$) + 0xF6000 + 2)) & 0xffff
    FAIL "pm 66 jmp rel16"
.j7:
    mov ebx, .j8
    mov eax, 0x12340000 | STUB
    jmp ax                          ; 66 FF /4: EIP = AX zero-extended
    FAIL "pm 66 jmp r16"
.j8:
    mov ebx, .j9
    push dword 0xffff0000 | STUB
    o16 ret                         ; 66 C3: pops IP only, EIP = IP
.j9:
    CHECK_ESP STACK0_TOP - 2, "pm 66 ret: pops 2 bytes"
    mov esp, STACK0_TOP

    ; ---------------- JMP far ----------------
    jmp SEL_CODE16:pm16_j1          ; EA ptr16:32
    FAIL "pm jmp ptr16:32"
.jf1:
    CHECK_SEG cs, SEL_CODE32, "cs after 66 jmp ptr16:32 back"
    mov dword [VAR_SCRATCH], pm16_j2
    mov word [VAR_SCRATCH+4], SEL_CODE16
    jmp far [VAR_SCRATCH]           ; FF /5 m16:32
    FAIL "pm jmp m16:32"
.jf2:
    mov word [VAR_SCRATCH], pm16_j3
    mov word [VAR_SCRATCH+2], SEL_CODE16
    jmp far word [VAR_SCRATCH]      ; 66 FF /5 m16:16
    FAIL "pm jmp m16:16"
.jf3:
    ; same-segment far jump
    jmp SEL_CODE32:.jf4
    FAIL "pm jmp far same cs"
.jf4:
    CHECK_SEG cs, SEL_CODE32, "cs after same-cs far jump"

    ; ---------------- CALL / RET near ----------------
    call pm_near
.c1r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 4, "pm call rel32: esp in callee"
    CHECK32 [VAR_SCRATCH+4], .c1r, "pm call rel32: pushed eip"
    CHECK_ESP STACK0_TOP, "pm ret: esp after"
    mov eax, pm_near
    call eax
.c2r:
    CHECK32 [VAR_SCRATCH+4], .c2r, "pm call r32: pushed eip"
    mov dword [VAR_SCRATCH+0x20], pm_near
    mov ebx, VAR_SCRATCH
    call [ebx+0x20]
.c3r:
    CHECK32 [VAR_SCRATCH+4], .c3r, "pm call m32: pushed eip"
    CHECK_ESP STACK0_TOP, "pm call m32: esp after"
    push dword 1
    push dword 2
    call pm_ret8
.c4r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 12, "pm ret imm16: esp in callee"
    CHECK32 [VAR_SCRATCH+4], .c4r, "pm ret imm16: pushed eip"
    CHECK_ESP STACK0_TOP, "pm ret 8: esp after"

    ; ---------------- CALL / RETF far ----------------
    call SEL_CODE32:pm_far          ; 9A ptr16:32, same CS
.f1r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 8, "pm call ptr16:32: esp in callee"
    CHECK32 [VAR_SCRATCH+4], .f1r, "pm call ptr16:32: pushed eip"
    CHECK16 [VAR_SCRATCH+8], SEL_CODE32, "pm call ptr16:32: pushed cs (low word)"
    CHECK_ESP STACK0_TOP, "pm retf: esp after"
    mov dword [VAR_SCRATCH+0x20], pm_far
    mov word [VAR_SCRATCH+0x24], SEL_CODE32
    call far [VAR_SCRATCH+0x20]     ; FF /3 m16:32
.f2r:
    CHECK32 [VAR_SCRATCH+4], .f2r, "pm call m16:32: pushed eip"
    CHECK16 [VAR_SCRATCH+8], SEL_CODE32, "pm call m16:32: pushed cs"
    CHECK_ESP STACK0_TOP, "pm call m16:32: esp after"
    ; RETF imm16
    push dword 0x11
    push dword 0x22
    push dword 0x33
    call SEL_CODE32:pm_retf12
    CHECK_ESP STACK0_TOP, "pm retf 12: esp after"
    ; to 16-bit code, which returns with 66 RETF
    call SEL_CODE16:pm16_far
.f3r:
    CHECK32 [VAR_SCRATCH], STACK0_TOP - 8, "call to 16-bit cs: esp in callee"
    CHECK32 [VAR_SCRATCH+4], .f3r, "call to 16-bit cs: pushed eip"
    CHECK16 [VAR_SCRATCH+8], SEL_CODE32, "call to 16-bit cs: pushed cs"
    CHECK16 [VAR_SCRATCH+12], SEL_CODE16, "call to 16-bit cs: cs in callee"
    CHECK_ESP STACK0_TOP, "66 retf from 16-bit cs: esp after"
    CHECK_SEG cs, SEL_CODE32, "66 retf from 16-bit cs: cs after"
    ; 16-bit code calling 32-bit code with 66 9A, and 16-bit far/near calls there
    jmp SEL_CODE16:pm16_calls
.f4:
    CHECK32 [VAR_SCRATCH+0x40], STACK0_TOP - 8, "66 call ptr16:32 from 16-bit: esp in callee"
    CHECK32 [VAR_SCRATCH+0x44], pm16_calls.r1, "66 call ptr16:32 from 16-bit: pushed eip"
    CHECK16 [VAR_SCRATCH+0x48], SEL_CODE16, "66 call ptr16:32 from 16-bit: pushed cs"
    CHECK32 [VAR_SCRATCH+0x50], STACK0_TOP - 8, "call ptr16:16 in 16-bit code: esp in callee"
    CHECK32 [VAR_SCRATCH+0x54], (SEL_CODE16 << 16) + pm16_calls.r2, "call ptr16:16: pushed cs:ip"
    CHECK32 [VAR_SCRATCH+0x58], STACK0_TOP, "retf 4 in 16-bit code: esp after"
    CHECK32 [VAR_SCRATCH+0x5c], STACK0_TOP - 2, "call rel16 in 16-bit code: esp in callee"
    CHECK16 [VAR_SCRATCH+0x60], pm16_calls.r3, "call rel16 in 16-bit code: pushed ip"
    CHECK_ESP STACK0_TOP, "after the 16-bit calls: esp"

    ; ---------------- LOOP family (ECX, CX with 67) ----------------
    mov ecx, 0x00010000
    stc
    loop .l1                        ; ECX 10000 -> FFFF: taken
    FAIL "pm loop ecx=10000 not taken"
.l1:
    CHECK_FLAGS FL_CF, FL_CF, "pm loop: flags unchanged"
    CHECK32 ecx, 0xffff, "pm loop: ecx"
    mov ecx, 1
    loop .l2f
    jmp .l2
.l2f: FAIL "pm loop ecx=1 taken"
.l2:
    CHECK32 ecx, 0, "pm loop: ecx 1 -> 0"
    mov ecx, 0x00050001
    a16 loop .l3f                   ; 67 E2: CX 1 -> 0: not taken
    jmp .l3
.l3f: FAIL "pm a16 loop cx=1 taken"
.l3:
    CHECK32 ecx, 0x00050000, "pm a16 loop: upper half kept"
    a16 loop .l4                    ; CX 0 -> FFFF: taken
    FAIL "pm a16 loop cx=0 not taken"
.l4:
    CHECK32 ecx, 0x0005ffff, "pm a16 loop: cx wraps"
    mov ecx, 2
    cmp eax, eax
    loope .e1
    FAIL "pm loope not taken"
.e1:
    or al, 1
    loope .e2f                      ; ZF=0
    jmp .e2
.e2f: FAIL "pm loope zf=0 taken"
.e2:
    CHECK32 ecx, 0, "pm loope: ecx"
    mov ecx, 0x00010001
    or al, 1                        ; ZF=0
    a16 loopne .e3f                 ; CX 1 -> 0: not taken although ZF=0
    jmp .e3
.e3f: FAIL "pm a16 loopne cx=1 taken"
.e3:
    mov ecx, 3
    or al, 1
    loopne .e4                      ; ZF=0 (from or): taken
    FAIL "pm loopne not taken"
.e4:
    CHECK32 ecx, 2, "pm loopne: ecx"
    mov ecx, 0x00010000
    jecxz .z1f
    jcxz .z1                        ; 67 E3 in 32-bit code: CX
.z1f: FAIL "pm jecxz/jcxz with ecx=10000"
.z1:
    xor ecx, ecx
    jecxz .z2
    FAIL "pm jecxz ecx=0 not taken"
.z2:

    ; ---------------- INT3 / INT 3 / INTO / BOUND through the IDT ----------------
    SET_RECOVERY .b1
    int3
.b1:
    CHECK_EXC 3, 0xffffffff, "pm int3"
    CHECK32 [VAR_EXC_EIP], .b1, "pm int3: pushed eip = next instruction"
    CHECK32 [VAR_EXC_CS], SEL_CODE32, "pm int3: pushed cs"
    CHECK32 [VAR_EXC_ESP], STACK0_TOP - 12, "pm int3: 3 dwords pushed"
    SET_RECOVERY .b3
    db 0xcd, 0x03
.b3:
    CHECK_EXC 3, 0xffffffff, "pm int 3 (cd 03)"
    CHECK32 [VAR_EXC_EIP], .b3, "pm int 3 (cd 03): pushed eip"
    mov eax, 0x7fffffff
    add eax, 1                      ; OF=1
    SET_RECOVERY .o1
    into
.o1:
    CHECK_EXC 4, 0xffffffff, "pm into of=1"
    CHECK32 [VAR_EXC_EIP], .o1, "pm into: pushed eip = next instruction"
    SET_RECOVERY 0
    add eax, 1                      ; OF=0
    into
    CHECK_NO_EXC "pm into of=0"
    mov dword [VAR_SCRATCH], 100
    mov dword [VAR_SCRATCH+4], 200
    mov eax, 100
    bound eax, [VAR_SCRATCH]
    mov eax, 200
    bound eax, [VAR_SCRATCH]
    CHECK_NO_EXC "pm bound r32 in range"
    SET_RECOVERY .bd1
    mov eax, 99
.bd0:
    bound eax, [VAR_SCRATCH]
.bd1:
    CHECK_EXC 5, 0xffffffff, "pm bound r32 below"
    CHECK32 [VAR_EXC_EIP], .bd0, "pm bound r32: pushed eip = the bound"
    SET_RECOVERY .bd3
    mov eax, 201
.bd2:
    bound eax, [VAR_SCRATCH]
.bd3:
    CHECK_EXC 5, 0xffffffff, "pm bound r32 above"
    CHECK32 [VAR_EXC_EIP], .bd2, "pm bound r32 above: pushed eip"
    mov word [VAR_SCRATCH+8], 0xfff0            ; -16
    mov word [VAR_SCRATCH+10], 0x0010
    mov ax, 0xfff0
    bound ax, [VAR_SCRATCH+8]
    CHECK_NO_EXC "pm bound r16 in range"
    SET_RECOVERY .bd5
    mov ax, 0x11
.bd4:
    bound ax, [VAR_SCRATCH+8]       ; 66 62
.bd5:
    CHECK_EXC 5, 0xffffffff, "pm bound r16 above"
    CHECK32 [VAR_EXC_EIP], .bd4, "pm bound r16: pushed eip"
    PASS

; ---- protected-mode callees ----
pm_near:
    mov [VAR_SCRATCH], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+4], eax
    ret
pm_ret8:
    mov [VAR_SCRATCH], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+4], eax
    ret 8
pm_far:
    mov [VAR_SCRATCH], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+4], eax
    mov eax, [esp+4]
    mov [VAR_SCRATCH+8], eax
    retf
pm_retf12:
    retf 12
; called from 16-bit code with 66 9A
pm_far_from16:
    mov [VAR_SCRATCH+0x40], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+0x44], eax
    mov eax, [esp+4]
    mov [VAR_SCRATCH+0x48], eax
    retf

CODE16
; 16-bit protected-mode code (SEL_CODE16, base F0000), stack SS=SEL_DATA32 (ESP)
pm16_j1:
    CHECK_SEG cs, SEL_CODE16, "cs after jmp ptr16:32 to the 16-bit segment"
    jmp dword SEL_CODE32:pm_main.jf1    ; 66 EA ptr16:32
pm16_j2:
    CHECK_SEG cs, SEL_CODE16, "cs after jmp m16:32"
    mov dword [VAR_SCRATCH+0x10], pm_main.jf2
    mov word [VAR_SCRATCH+0x14], SEL_CODE32
    jmp dword far [VAR_SCRATCH+0x10]    ; 66 FF /5 m16:32
pm16_j3:
    CHECK_SEG cs, SEL_CODE16, "cs after 66 jmp m16:16"
    mov word [VAR_SCRATCH+0x10], pm16_j4
    mov word [VAR_SCRATCH+0x12], SEL_CODE16
    jmp far [VAR_SCRATCH+0x10]          ; FF /5 m16:16 in 16-bit code
    FAIL "16-bit jmp m16:16"
pm16_j4:
    jmp dword SEL_CODE32:pm_main.jf3
pm16_far:
    mov [VAR_SCRATCH], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+4], eax
    mov eax, [esp+4]
    mov [VAR_SCRATCH+8], eax
    mov [VAR_SCRATCH+12], cs
    o32 retf
pm16_calls:
    call dword SEL_CODE32:pm_far_from16 ; 66 9A
.r1:
    push word 0x1234
    push word 0x5678
    call SEL_CODE16:pm16_retf4_callee   ; 9A ptr16:16
.r2:
    mov [VAR_SCRATCH+0x58], esp
    call pm16_near_callee               ; E8 rel16
.r3:
    jmp dword SEL_CODE32:pm_main.f4
pm16_retf4_callee:
    mov [VAR_SCRATCH+0x50], esp
    mov eax, [esp]
    mov [VAR_SCRATCH+0x54], eax
    retf 4
pm16_near_callee:
    mov [VAR_SCRATCH+0x5c], esp
    mov ax, [esp]
    mov [VAR_SCRATCH+0x60], ax
    ret

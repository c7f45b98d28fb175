; rotflags.asm: ROL and ROR by an immediate right after an instruction whose
; flags are kept lazily (ADD, SUB, INC, DEC, AND, SHR, XOR) of each operand
; size: a rotate writes only CF and OF (Intel SDM Vol. 2, "RCL/RCR/ROL/ROR",
; "Flags Affected"), so SF, ZF, AF and PF must come out as that instruction
; left them. The JIT computes the kept flags from the lazy record inline; the
; last cases put an instruction that goes through the interpreter (CLD)
; between, so that the record comes from the CPU state.

%include "rom.inc"

CODE16
main:
    PRINT "rotflags: real mode", 10
    mov al, 0x0f
    add al, 1                   ; 0x10: AF
    mov ebx, 0x10000000
    rol ebx, 4                  ; 0x00000001: CF=1, OF=MSB^CF=1
    CHECK_FLAGS FL_ARITH, FL_AF|FL_CF|FL_OF, "add al then rol r32"
    CHECK32 ebx, 1, "rol ebx, 4"

    stc
    mov ax, 0x0010
    dec ax                      ; 0x000f: AF, PF; CF kept (1)
    mov cx, 1
    ror cx, 4                   ; 0x1000: CF=MSB=0, OF=0
    CHECK_FLAGS FL_ARITH, FL_AF|FL_PF, "dec ax then ror r16"
    CHECK16 cx, 0x1000, "ror cx, 4"

    xor ax, ax
    sub ax, 1                   ; 0xffff: CF, AF, SF, PF
    mov edx, 0
    rol edx, 1                  ; 0: CF=0, OF=0
    CHECK_FLAGS FL_ARITH, FL_SF|FL_AF|FL_PF, "sub ax then rol r32"

    mov al, 0x7f
    inc al                      ; 0x80: SF, OF, AF
    ror al, 4                   ; 0x08: CF=0, OF=0
    CHECK_FLAGS FL_ARITH, FL_SF|FL_AF, "inc al then ror r8"
    CHECK8 al, 0x08, "ror al, 4"

    mov eax, 0x7fffffff
    add eax, 1                  ; 0x80000000: SF, OF, AF, PF
    mov cl, 0x80
    rol cl, 1                   ; 0x01: CF=1, OF=0^1=1
    CHECK_FLAGS FL_ARITH, FL_SF|FL_AF|FL_PF|FL_CF|FL_OF, "add eax then rol r8"

    mov al, 0xf0
    and al, 0x30                ; 0x30: PF
    mov bx, 0x8001
    rol bx, 8                   ; 0x0180: CF=0, OF=0
    CHECK_FLAGS FL_ARITH, FL_PF, "and al then rol r16"
    CHECK16 bx, 0x0180, "rol bx, 8"

    mov ax, 0x8000
    shr ax, 1                   ; 0x4000: OF, PF
    mov dl, 3
    ror dl, 1                   ; 0x81: CF=1, OF=1^0=1
    CHECK_FLAGS FL_ARITH, FL_PF|FL_CF|FL_OF, "shr ax then ror r8"

    mov word [0x9000], 0x0101
    mov eax, 0x00000100
    dec eax                     ; 0xff: AF, PF
    ror word [0x9000], 1        ; 0x8080: CF=1, OF=1^0=1
    CHECK_FLAGS FL_ARITH, FL_AF|FL_PF|FL_CF|FL_OF, "dec eax then ror m16"
    CHECK16 [0x9000], 0x8080, "ror word [mem], 1"

    xor eax, eax                ; ZF, PF
    rol eax, 7
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "xor then rol"

    mov al, 0x0f
    add al, 1                   ; 0x10: AF
    cld
    mov ebx, 0x10000000
    rol ebx, 4
    CHECK_FLAGS FL_ARITH, FL_AF|FL_CF|FL_OF, "add al, cld, then rol"

    mov ax, 0x0010
    dec ax                      ; AF, PF
    cld
    ror ax, 8                   ; 0x0f00: CF=0, OF=0
    CHECK_FLAGS FL_ARITH, FL_AF|FL_PF, "dec ax, cld, then ror"
    PASS

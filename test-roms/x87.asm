; x87.asm: the x87 FPU as a protected-mode system sees it (Intel SDM Vol. 1
; chapter 8, Vol. 3A 2.5 and 6.15, Vol. 1 appendix D).
;
;   - CPUID.1:EDX.FPU; FNINIT's control word 037Fh, status 0, empty stack.
;   - Arithmetic through memory operands of every type: double division,
;     square root, integer loads and stores in each rounding mode, packed BCD,
;     precision control (24 bits), constants rounded by RC.
;   - FCOMI's EFLAGS, FXAM on an empty register, FCHS/FABS.
;   - A masked stack underflow: IE and SF, the default NaN.
;   - FSTENV's tag word, FSAVE/FRSTOR round trip, FXSAVE's layout and its
;     #GP for an image not aligned on 16 bytes.
;   - #NM for CR0.TS and CR0.EM, and for WAIT with CR0.MP and TS.
;   - An unmasked zero divide delivered both ways: #MF at the next FWAIT with
;     CR0.NE set (a fault: the saved EIP is the FWAIT's), and with CR0.NE clear
;     through FERR# as IRQ 13 on the slave 8259, whose handler writes port 0xF0
;     (IGNNE#) and clears the flags, as DOS-era systems do.
; Status words are read back through memory with the bits QEMU 7.2 does not
; keep (C1's rounding direction, DE) masked, so that the differential runner
; compares the rest; the stack-fault check is left out of QEMU's build.
%include "rom.inc"

; .rodata as 32-bit code addresses it (it runs at linear 0xFC000).
%define RO(x) (x + 0xF0000)

PIC_BASE0 equ 0x30
PIC_BASE1 equ 0x38
DATA      equ 0x10000          ; scratch for the operands and images
VAR_IRQ13 equ VAR_SCRATCH      ; IRQ 13 count

; CHECK_SW mask, expected, "what": (FNSTSW & mask) == expected
%macro CHECK_SW 3+
    fnstsw [DATA + 0x1f0]
    and word [DATA + 0x1f0], %1
    CHECK16 [DATA + 0x1f0], %2, %3
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    mov eax, 1
    cpuid
    and edx, 1
    CHECK32 edx, 1, "CPUID.1:EDX.FPU"
    mov eax, cr0
    and eax, ~0x2c                  ; MP, EM, TS clear
    or eax, 0x20                    ; NE: #MF reporting
    mov cr0, eax

    ; ---- FNINIT ----
    fninit
    fnstcw [DATA]
    CHECK16 [DATA], 0x037f, "FNINIT control word"
    CHECK_SW 0xffff, 0, "FNINIT status word"
    fxam
    CHECK_SW 0x4500, 0x4100, "FXAM of an empty ST0"

    ; ---- double division and square root ----
    fld1
    fild dword [RO(three)]
    fdivp st1, st0                  ; 1/3
    fstp qword [DATA]
    CHECK32 [DATA], 0x55555555, "1/3 as a double, low"
    CHECK32 [DATA + 4], 0x3fd55555, "1/3 as a double, high"
    CHECK_SW 0x3f, 0x20, "1/3 is inexact"
    fninit
    fld qword [RO(two)]
    fsqrt
    fstp qword [DATA]
    CHECK32 [DATA], 0x667f3bcd, "sqrt 2, low"
    CHECK32 [DATA + 4], 0x3ff6a09e, "sqrt 2, high"

    ; ---- precision control: 24 bits ----
    fninit
    fldcw [RO(cw_single)]
    fld1
    fild dword [RO(three)]
    fdivp st1, st0
    fstp tword [DATA]
    CHECK32 [DATA + 4], 0xaaaaab00, "1/3 at 24-bit precision, significand"
    CHECK32 [DATA], 0, "1/3 at 24-bit precision, low bits"
    CHECK16 [DATA + 8], 0x3ffd, "1/3 at 24-bit precision, exponent"

    ; ---- integer stores in each rounding mode ----
    fninit
    fld qword [RO(two_and_half)]
    fist dword [DATA]
    CHECK32 [DATA], 2, "2.5 to nearest even"
    fldcw [RO(cw_up)]
    fist dword [DATA]
    CHECK32 [DATA], 3, "2.5 rounded up"
    fldcw [RO(cw_down)]
    fchs
    fistp word [DATA]
    CHECK16 [DATA], 0xfffd, "-2.5 rounded down"
    fldcw [RO(cw_chop)]
    fldpi
    fstp tword [DATA]
    CHECK32 [DATA], 0x2168c234, "pi rounded towards zero"
    fninit
    fldpi
    fstp tword [DATA]
    CHECK32 [DATA], 0x2168c235, "pi rounded to nearest"
    fild qword [RO(big)]
    fistp qword [DATA]
    CHECK32 [DATA], 0x9abcdef0, "64-bit integer round trip, low"
    CHECK32 [DATA + 4], 0x12345678, "64-bit integer round trip, high"
    fild dword [RO(big_int)]
    fist word [DATA]
    CHECK16 [DATA], 0x8000, "out of range: the integer indefinite"
    CHECK_SW 0x3f, 0x01, "out of range: IE"
    fninit

    ; ---- packed BCD ----
    fbld [RO(bcd)]
    fistp dword [DATA]
    CHECK32 [DATA], -1234567, "FBLD"
    fild dword [RO(bcd_source)]
    fbstp [DATA]
    CHECK32 [DATA], 0x00654321, "FBSTP, low digits"
    CHECK16 [DATA + 8], 0x0000, "FBSTP, sign byte"

    ; ---- FCOMI, FABS, FCHS ----
    fld1
    fldz
    cmp eax, eax                    ; OF SF AF clear, ZF PF set
    fcomi st0, st1                  ; 0 < 1
    CHECK_FLAGS FL_ZF|FL_PF|FL_CF, FL_CF, "FCOMI 0 < 1"
    fcomip st0, st1
    fchs
    fabs
    fld1
    fucomip st0, st1
    CHECK_FLAGS FL_ZF|FL_PF|FL_CF, FL_ZF, "FUCOMIP 1 = |-1|"
    fstp st0
    CHECK_SW 0x3800, 0, "TOP back at 0"

    ; ---- transcendentals (scaled to integers: QEMU 7.2 computes them in
    ; double precision and differs in the last bits) ----
    fninit
    fld qword [RO(half)]
    fsin
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 479426, "sin(0.5) * 1e6"
    fld qword [RO(half)]
    fsincos
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 877583, "FSINCOS: cos(0.5) * 1e6 in ST0"
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 479426, "FSINCOS: sin(0.5) * 1e6 in ST1"
    fld qword [RO(half)]
    fptan
    fistp dword [DATA]
    CHECK32 [DATA], 1, "FPTAN pushes 1.0"
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 546302, "tan(0.5) * 1e6"
    fld1
    fld1
    fpatan
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 785398, "atan2(1, 1) * 1e6"
    fld qword [RO(half)]
    f2xm1
    fimul dword [RO(million)]
    fistp dword [DATA]
    CHECK32 [DATA], 414214, "2^0.5 - 1, * 1e6"
    fild dword [RO(three)]
    fld qword [RO(two)]
    fyl2x
    fistp dword [DATA]
    CHECK32 [DATA], 3, "3 * log2(2)"
    fld qword [RO(two_pow_64)]
    fsin
    CHECK_SW 0x3c00, 0x3c00, "FSIN of 2^64: C2 set, the operand left"
    fstp st0
%ifndef QEMU
    ; SDM "FSIN": the operand must lie strictly between -2^63 and 2^63 (the
    ; host's x87 agrees; QEMU 7.2 computes sin(2^63))
    fld qword [RO(two_pow_63)]
    fsin
    CHECK_SW 0x3c00, 0x3c00, "FSIN of 2^63: C2 set"
    fstp st0
%endif
    fld qword [RO(half)]
    fcos
    CHECK_SW 0x0400, 0, "FCOS in range clears C2"
    fstp st0

%ifndef QEMU
    ; ---- a masked stack underflow (SDM Vol. 1 8.5.1.1; QEMU 7.2 has no
    ; stack faults) ----
    fninit
    fadd st0, st1
    CHECK_SW 0x7f, 0x41, "underflow: IE and SF"
    fstp tword [DATA]
    CHECK16 [DATA + 8], 0xffff, "underflow: the default NaN"
    CHECK32 [DATA + 4], 0xc0000000, "underflow: the default NaN's significand"
%endif

    ; ---- FSTENV, FSAVE, FRSTOR ----
    fninit
    fld1
    fldz
    fnstenv [DATA]
    CHECK16 [DATA + 8], 0x1fff, "FSTENV tag word: R7 valid, R6 zero"
    CHECK16 [DATA], 0x037f, "FSTENV control word"
    fnstcw [DATA + 0x100]
    CHECK16 [DATA + 0x100], 0x037f, "FSTENV masks what was already masked"
    fnsave [DATA]
    CHECK_SW 0xffff, 0, "FNSAVE reinitializes"
    fnstcw [DATA + 0x100]
    CHECK16 [DATA + 0x100], 0x037f, "FNSAVE reinitializes the control word"
    frstor [DATA]
    fistp dword [DATA + 0x100]
    CHECK32 [DATA + 0x100], 0, "FRSTOR: ST0"
    fistp dword [DATA + 0x100]
    CHECK32 [DATA + 0x100], 1, "FRSTOR: ST1"

    ; ---- FXSAVE ----
    fninit
    fld1
    fxsave [DATA + 0x200]
    CHECK16 [DATA + 0x200], 0x037f, "FXSAVE control word"
    CHECK8 [DATA + 0x204], 0x80, "FXSAVE abridged tag"
    CHECK32 [DATA + 0x224], 0x80000000, "FXSAVE ST0"
    SET_RECOVERY .fx_misaligned
    fxsave [DATA + 0x208]
    FAIL "FXSAVE to an image not aligned on 16 bytes"
.fx_misaligned:
    CHECK_EXC 13, 0, "FXSAVE misaligned: #GP(0)"

    ; ---- #NM ----
    mov eax, cr0
    or eax, 0x08                    ; TS
    mov cr0, eax
    SET_RECOVERY .nm_ts
    fld1
    FAIL "FLD1 with CR0.TS"
.nm_ts:
    CHECK_EXC 7, -1, "CR0.TS: #NM"
    fwait                           ; MP clear: WAIT ignores TS
    CHECK_NO_EXC "WAIT with TS but not MP"
    or eax, 0x02                    ; MP
    mov cr0, eax
    SET_RECOVERY .nm_wait
    fwait
    FAIL "WAIT with CR0.MP and TS"
.nm_wait:
    CHECK_EXC 7, -1, "WAIT with MP and TS: #NM"
    clts
    and eax, ~0x0a
    or eax, 0x04                    ; EM
    mov cr0, eax
    SET_RECOVERY .nm_em
    fninit
    FAIL "FNINIT with CR0.EM"
.nm_em:
    CHECK_EXC 7, -1, "CR0.EM: #NM"
    and eax, ~0x04
    mov cr0, eax

    ; ---- an unmasked zero divide, CR0.NE set: #MF at the next FWAIT ----
    fninit
    fldcw [RO(cw_zero_divide)]
    fld1
    fldz
    fdivp st1, st0                  ; unmasked: nothing written, nothing popped
    CHECK_NO_EXC "the faulting FDIVP itself"
    CHECK_SW 0x00bf, 0x0084, "ZE and ES pending"
%ifndef QEMU
    ; SDM Vol. 1 8.5.3: an unmasked zero divide writes nothing and does not
    ; pop (QEMU 7.2 writes the result and pops).
    CHECK_SW 0x3800, 0x3000, "the stack untouched"
%endif
    SET_RECOVERY .mf
.fwait_mf:
    fwait
    FAIL "FWAIT with an exception pending"
.mf:
    CHECK_EXC 16, -1, "#MF"
    CHECK32 [VAR_EXC_EIP], .fwait_mf, "#MF is a fault at the FWAIT"
    fnclex
    CHECK_SW 0x80ff, 0, "FNCLEX"
    fwait
    CHECK_NO_EXC "FWAIT after FNCLEX"

%ifndef QEMU
    ; ---- the same with CR0.NE clear: FERR# is IRQ 13 (QEMU 7.2 aborts
    ; here: its FERR# raises the interrupt without the I/O thread's lock and
    ; trips an assertion in tcg_handle_interrupt) ----
    SET_GATE PIC_BASE1 + 5, irq13, 0x8e00
    mov dword [VAR_IRQ13], 0
    PIC_INIT PIC_BASE0, PIC_BASE1
    mov al, 0xfb                    ; only the cascade on the master
    out 0x21, al
    mov al, 0xdf                    ; only IRQ 13 on the slave
    out 0xa1, al
    mov eax, cr0
    and eax, ~0x20
    mov cr0, eax
    fninit
    fldcw [RO(cw_zero_divide)]
    fld1
    fldz
    fdivp st1, st0
    sti
    fwait                           ; FERR#: IRQ 13, taken after the FWAIT
    nop
    cli
    CHECK_NO_EXC "no #MF with CR0.NE clear"
    CHECK32 [VAR_IRQ13], 1, "IRQ 13 once"
    CHECK_SW 0x80ff, 0, "the handler cleared the exception"
    sti
    fwait
    nop
    cli
    CHECK32 [VAR_IRQ13], 1, "no IRQ 13 once the flags are clear"
%endif
    PASS

; IRQ 13: what a DOS-era handler does: IGNNE# through port 0xF0, clear the
; exception, EOI to both 8259s.
irq13:
    push eax
    inc dword [VAR_IRQ13]
    xor al, al
    out 0xf0, al
    fnclex
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop eax
    iretd

section .rodata
align 8
two:            dq 2.0
half:           dq 0.5
two_pow_63:     dq 0x43e0000000000000
two_pow_64:     dq 0x43f0000000000000
million:        dd 1000000
two_and_half:   dq 2.5
big:            dq 0x123456789abcdef0
three:          dd 3
big_int:        dd 100000
bcd_source:     dd 654321
bcd:            db 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0, 0x80
cw_single:      dw 0x007f
cw_up:          dw 0x0b7f
cw_down:        dw 0x077f
cw_chop:        dw 0x0f7f
cw_zero_divide: dw 0x037b

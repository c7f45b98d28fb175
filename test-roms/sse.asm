; sse.asm: SSE and SSE2 as a protected-mode system sees them (Intel SDM
; Vol. 3A 13.1-13.2, Vol. 1 chapters 10-11, each instruction's page).
;
;   - CPUID.1:EDX.SSE and SSE2; #UD before CR4.OSFXSR is set; #NM with CR0.TS.
;   - MXCSR: 1F80h after reset, LDMXCSR/STMXCSR, #GP(0) for a reserved bit
;     (not in QEMU's build: QEMU 7.2 loads it).
;   - Packed and scalar single and double arithmetic, square roots, compares
;     (CMPPS masks, COMISD's flags), conversions both ways with rounding by
;     MXCSR.RC and truncation, shuffles, unpacks, MOVMSKPS.
;   - SSE2 integers: PADDQ, PMULUDQ, PSHUFD, PSRLDQ, PMOVMSKB, PSADBW.
;   - #GP(0) for a misaligned 16-byte operand (MOVUPS takes it).
;   - An unmasked zero divide: #XM with CR4.OSXMMEXCPT, #UD without, the
;     destination unchanged and ZE set in MXCSR (left out of QEMU's build:
;     QEMU 7.2 never raises #XM).
%include "rom.inc"
cpu willamette                      ; SSE2 (rom.inc says 686)

%define RO(x) (x + 0xF0000)
DATA equ 0x10000

; CHECK_XMM_LO reg, lo32, "what": the low dword of an XMM register
%macro CHECK_XMM_LO 3+
    movd [DATA + 0x1f0], %1
    CHECK32 [DATA + 0x1f0], %2, %3
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    mov eax, 1
    cpuid
    and edx, 3 << 25
    CHECK32 edx, 3 << 25, "CPUID.1:EDX.SSE and SSE2"

    ; ---- #UD without CR4.OSFXSR ----
    SET_RECOVERY .ud_osfxsr
    addps xmm0, xmm1
    FAIL "ADDPS without CR4.OSFXSR"
.ud_osfxsr:
    CHECK_EXC 6, -1, "no OSFXSR: #UD"
    mov eax, cr4
    or eax, 0x600                   ; OSFXSR, OSXMMEXCPT
    mov cr4, eax

    ; ---- MXCSR ----
    stmxcsr [DATA]
    CHECK32 [DATA], 0x1f80, "MXCSR after reset"
%ifndef QEMU
    ; SDM "LDMXCSR": #GP(0) for a reserved bit (QEMU 7.2 loads it)
    mov dword [DATA], 0x10000
    SET_RECOVERY .gp_mxcsr
    ldmxcsr [DATA]
    FAIL "LDMXCSR with a reserved bit"
.gp_mxcsr:
    CHECK_EXC 13, 0, "LDMXCSR reserved bit: #GP(0)"
%endif

    ; ---- packed single ----
    movaps xmm0, [RO(ps_a)]
    movaps xmm1, [RO(ps_b)]
    addps xmm0, xmm1
    movups [DATA], xmm0
    CHECK32 [DATA], 0x40400000, "ADDPS lane 0: 1 + 2 = 3"
    CHECK32 [DATA + 12], 0x41000000, "ADDPS lane 3: 4 + 4 = 8"
    movaps xmm2, [RO(ps_a)]
    divps xmm2, [RO(ps_b)]
    movups [DATA], xmm2
    CHECK32 [DATA + 4], 0x3f000000, "DIVPS lane 1: 2 / 4"
    CHECK32 [DATA + 8], 0x3faaaaab, "DIVPS lane 2: 4 / 3 rounded to nearest"
    sqrtps xmm3, [RO(ps_b)]
    CHECK_XMM_LO xmm3, 0x3fb504f3, "SQRTPS lane 0: sqrt 2"
    movaps xmm4, [RO(ps_a)]
    cmpltps xmm4, [RO(ps_b)]
    movmskps eax, xmm4
    CHECK32 eax, 0b0011, "CMPLTPS masks, MOVMSKPS"
    movaps xmm5, [RO(ps_a)]
    shufps xmm5, xmm5, 0x1b         ; reverse the lanes
    CHECK_XMM_LO xmm5, 0x40800000, "SHUFPS: lane 3 to lane 0"
    movaps xmm5, [RO(ps_a)]
    unpckhps xmm5, [RO(ps_b)]
    CHECK_XMM_LO xmm5, 0x40800000, "UNPCKHPS: lane 2 of the first"

    ; ---- scalar double, compares, conversions ----
    movsd xmm0, [RO(one_third)]
    mulsd xmm0, [RO(three)]
    movsd [DATA], xmm0
    CHECK32 [DATA + 4], 0x3ff00000, "MULSD: (1/3) * 3 = 1.0, high"
    CHECK32 [DATA], 0, "MULSD: (1/3) * 3 = 1.0, low"
    cmp eax, eax
    comisd xmm0, [RO(three)]
    CHECK_FLAGS FL_ZF|FL_PF|FL_CF|FL_OF|FL_SF|FL_AF, FL_CF, "COMISD 1 < 3"
    movsd xmm1, [RO(two_and_half)]
    cvtsd2si eax, xmm1
    CHECK32 eax, 2, "CVTSD2SI 2.5: to nearest even"
    cvttsd2si eax, xmm1
    CHECK32 eax, 2, "CVTTSD2SI 2.5: truncated"
    mov dword [DATA], 0x3f80        ; RC down
    ldmxcsr [DATA]
    xorpd xmm2, xmm2
    subsd xmm2, xmm1
    cvtsd2si eax, xmm2
    CHECK32 eax, -3, "CVTSD2SI -2.5 rounded down"
    mov dword [DATA], 0x1f80
    ldmxcsr [DATA]
    cvtsd2ss xmm3, xmm1
    CHECK_XMM_LO xmm3, 0x40200000, "CVTSD2SS 2.5"
    mov eax, -7
    cvtsi2sd xmm4, eax
    cvtpd2ps xmm4, xmm4
    CHECK_XMM_LO xmm4, 0xc0e00000, "CVTSI2SD then CVTPD2PS: -7"
    cvttps2dq xmm5, [RO(ps_halves)]
    CHECK_XMM_LO xmm5, -1, "CVTTPS2DQ -1.5 truncated"
    cvtdq2ps xmm6, [RO(ints)]
    CHECK_XMM_LO xmm6, 0x4f000000, "CVTDQ2PS 2^31 - 1 rounded to 2^31"

    ; ---- SSE2 integers ----
    movdqa xmm0, [RO(ints)]
    paddq xmm0, [RO(ints)]
    movdqu [DATA], xmm0
    CHECK32 [DATA], 0xfffffffe, "PADDQ low dword"
    CHECK32 [DATA + 4], 0xa, "PADDQ carries into the high dword"
    pshufd xmm1, [RO(ints)], 0x02
    CHECK_XMM_LO xmm1, 0x80000001, "PSHUFD"
    movdqa xmm2, [RO(ints)]
    psrldq xmm2, 4
    CHECK_XMM_LO xmm2, 5, "PSRLDQ by 4 bytes"
    movdqa xmm3, [RO(ints)]
    pmovmskb eax, xmm3
    CHECK32 eax, 0x2807, "PMOVMSKB"
    movdqa xmm4, [RO(ints)]
    pmuludq xmm4, [RO(ints)]
    movdqu [DATA], xmm4
    CHECK32 [DATA], 1, "PMULUDQ low: (2^31 - 1)^2, low dword"
    CHECK32 [DATA + 4], 0x3fffffff, "PMULUDQ low: high dword"

    ; ---- alignment ----
    SET_RECOVERY .gp_align
    movaps xmm0, [DATA + 8]
    FAIL "MOVAPS from an address not aligned on 16"
.gp_align:
    CHECK_EXC 13, 0, "misaligned MOVAPS: #GP(0)"
    movups xmm0, [DATA + 8]
    CHECK_NO_EXC "MOVUPS takes any address"

%ifndef QEMU
    ; ---- an unmasked zero divide (SDM Vol. 1 11.5.1; QEMU 7.2 never
    ; raises #XM, it only sets the flag) ----
    mov dword [DATA], 0x1f80 & ~0x200  ; ZE unmasked
    ldmxcsr [DATA]
    movaps xmm0, [RO(ps_a)]
    xorps xmm1, xmm1
    SET_RECOVERY .xm
    divps xmm0, xmm1
    FAIL "DIVPS by zero with ZE unmasked"
.xm:
    CHECK_EXC 19, -1, "#XM"
    CHECK_XMM_LO xmm0, 0x3f800000, "#XM: the destination unchanged"
    stmxcsr [DATA]
    CHECK32 [DATA], 0x1d84, "#XM: ZE set in MXCSR"
    mov eax, cr4
    and eax, ~0x400                 ; OSXMMEXCPT clear
    mov cr4, eax
    SET_RECOVERY .xm_ud
    divps xmm0, xmm1
    FAIL "DIVPS by zero without OSXMMEXCPT"
.xm_ud:
    CHECK_EXC 6, -1, "without OSXMMEXCPT: #UD"
%endif

    ; ---- #NM ----
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    SET_RECOVERY .nm
    addps xmm0, xmm0
    FAIL "ADDPS with CR0.TS"
.nm:
    CHECK_EXC 7, -1, "CR0.TS: #NM"
    clts
    PASS

section .rodata
align 16
ps_a:       dd 1.0, 2.0, 4.0, 4.0
ps_b:       dd 2.0, 4.0, 3.0, 4.0
ps_halves:  dd -1.5, 0.5, 1.5, 2.5
ints:       dd 0x7fffffff, 5, 0x80000001, 0x0800ff00
one_third:  dq 0x3fd5555555555555
three:      dq 3.0
two_and_half: dq 2.5

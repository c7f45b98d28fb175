; mmx.asm: MMX and the x87 in real mode (Intel SDM Vol. 1 chapters 8-9,
; Vol. 3A 12.2), the mode DOS-era programs used them in.
;
;   - CPUID.1:EDX.MMX; wrapping and saturating adds, PMADDWD, packs, unpacks,
;     shifts by an immediate and by a register, MOVD/MOVQ through memory.
;   - An MMX instruction makes every x87 register valid and TOP 0; the
;     written register reads back through FSTENV's tag word as special; EMMS
;     empties the stack.
;   - The x87 in real mode: FSTENV's 14-byte real-mode layout, whose
;     instruction pointer is the 20-bit linear address CS * 16 + IP (not in
;     QEMU's build: QEMU 7.2 stores the offset), and an FSAVE/FRSTOR round
;     trip of a value.
%include "rom.inc"

DATA equ 0x1000                   ; below the GDT copy ENTER_PM32 would make

; CHECK_MM_LO mm, lo32, "what": the low dword of an MM register
%macro CHECK_MM_LO 3+
    movd [DATA + 0xf0], %1
    CHECK32 [DATA + 0xf0], %2, %3
%endmacro

CODE16
main:
    INSTALL_RM_HANDLERS
    mov eax, 1
    cpuid
    and edx, 1 << 23
    CHECK32 edx, 1 << 23, "CPUID.1:EDX.MMX"
    fninit

    ; ---- arithmetic ----
    movq mm0, [cs:q_bytes]
    movq mm1, [cs:q_bytes]
    paddusb mm0, mm1
    CHECK_MM_LO mm0, 0xfffe0402, "PADDUSB saturates at ff"
    movq mm0, [cs:q_bytes]
    paddb mm0, mm1
    CHECK_MM_LO mm0, 0xfefe0402, "PADDB wraps"
    movq mm2, [cs:q_words]
    pmaddwd mm2, [cs:q_words]
    CHECK_MM_LO mm2, 3 * 3 + 0x7fff * 0x7fff, "PMADDWD low dword"
    movq mm3, [cs:q_words]
    packsswb mm3, mm3
    CHECK_MM_LO mm3, 0xff807f03, "PACKSSWB saturates"
    movq mm4, [cs:q_bytes]
    punpcklbw mm4, [cs:q_bytes]
    CHECK_MM_LO mm4, 0x02020101, "PUNPCKLBW"
    movq mm5, [cs:q_bytes]
    psllq mm5, 8
    CHECK_MM_LO mm5, 0x7f020100, "PSLLQ by 8"
    movd mm6, [cs:shift_count]
    movq mm7, [cs:q_words]
    psraw mm7, mm6
    CHECK_MM_LO mm7, 0x3fff0001, "PSRAW by a register"

    ; ---- the x87 state after MMX ----
    fnstenv [DATA]
    CHECK16 [DATA + 4], 0xaaaa, "FSTENV tag word after MMX: all special"
    CHECK16 [DATA + 2], 0, "TOP is 0 after MMX"
    emms
    fnstenv [DATA]
    CHECK16 [DATA + 4], 0xffff, "EMMS empties the stack"

    ; ---- the x87 in real mode ----
    fninit
.fld_here:
    fld1
    fnstenv [DATA]
%ifndef QEMU
    CHECK16 [DATA + 6], .fld_here, "real-mode FSTENV: IP bits 15-0"
    movzx eax, word [DATA + 8]
    shr eax, 12
    CHECK32 eax, 0xf, "real-mode FSTENV: IP bits 19-16"
%endif
    fnsave [DATA]
    fld qword [cs:pi_double]
    frstor [DATA]
    fistp word [DATA + 0x80]
    CHECK16 [DATA + 0x80], 1, "FRSTOR brought 1.0 back"
    fnstsw ax
    CHECK16 ax, 0, "status word after FRSTOR and FISTP"
    PASS

section .rodata
align 8
q_bytes:     db 1, 2, 0x7f, 0xff, 0x80, 0x10, 0x20, 0x30
q_words:     dw 3, 0x7fff, 0x8000, 0xffff
shift_count: dd 1
pi_double:   dq 3.14159265358979

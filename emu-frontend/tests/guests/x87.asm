; x87.asm: vemu has no FPU. FNINIT with CR0.EM=0 raises #UD in the guest, and
; vemu reports the unimplemented instruction once on stderr (this ROM runs it
; twice).
%include "rom.inc"
CODE16
main:
    INSTALL_RM_HANDLERS
    mov cx, 2
.again:
    SET_RECOVERY .after
    fninit
.after:
    CHECK_EXC 6, 0xffffffff, "fninit without an FPU"
    dec cx
    jnz .again
    PASS

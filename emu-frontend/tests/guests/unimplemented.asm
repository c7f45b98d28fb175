; unimplemented.asm: an instruction vemu does not implement (MONITOR, from
; SSE3, which no vemu CPU model has) raises #UD in the guest, and vemu
; reports it once on stderr (this ROM runs it twice).
%include "rom.inc"
CODE16
main:
    INSTALL_RM_HANDLERS
    mov cx, 2
.again:
    SET_RECOVERY .after
    db 0x0f, 0x01, 0xc8          ; monitor (nasm takes it only with "cpu prescott")
.after:
    CHECK_EXC 6, 0xffffffff, "MONITOR without SSE3"
    dec cx
    jnz .again
    PASS

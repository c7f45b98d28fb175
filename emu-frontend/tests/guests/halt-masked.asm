; halt-masked.asm: HLT with interrupts enabled but every line that has a
; device behind it masked at the interrupt controllers (the timer keeps
; ticking, to no one): nothing can ever wake the CPU.
%include "rom.inc"
CODE16
main:
    PIC_INIT_8259 0x30, 0x38        ; vectors 0x30 and 0x38, all masked
    mov al, 0xfb                ; only the cascade open at the master
    out 0x21, al
    mov al, 0xff                ; and nothing at the slave
    out 0xa1, al
    PRINT "halting", 10
    sti
    hlt
    FAIL "woke up"

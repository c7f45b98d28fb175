; halt-masked.asm: HLT with interrupts enabled but every line that has a
; device behind it masked at the interrupt controllers (the timer keeps
; ticking, to no one): nothing can ever wake the CPU.
%include "rom.inc"
CODE16
main:
    mov al, 0x11                ; 8259s: vectors 0x30 and 0x38, cascade on IRQ 2
    out 0x20, al
    out 0xa0, al
    mov al, 0x30
    out 0x21, al
    mov al, 0x38
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xfb                ; only the cascade open at the master
    out 0x21, al
    mov al, 0xff                ; and nothing at the slave
    out 0xa1, al
    PRINT "halting", 10
    sti
    hlt
    FAIL "woke up"

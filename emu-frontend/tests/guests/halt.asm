; halt.asm: HLT with interrupts disabled; nothing can ever wake the CPU.
%include "rom.inc"
CODE16
main:
    PRINT "halting", 10
    cli
    hlt
    FAIL "woke up"

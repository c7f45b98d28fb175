; spin.asm: a loop that never ends, for --max-insns.
%include "rom.inc"
CODE16
main:
    jmp main

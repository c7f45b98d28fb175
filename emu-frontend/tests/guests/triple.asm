; triple.asm: a real-mode triple fault. With an IDT limit of 0, INT3 cannot be
; delivered (#GP), neither can the #GP (#DF), nor the #DF.
%include "rom.inc"
CODE16
main:
    lidt [cs:zero_idt]
    int3
    FAIL "the CPU went on after a triple fault"
zero_idt: dw 0
          dd 0

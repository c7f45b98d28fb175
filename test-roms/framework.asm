; framework.asm: the test frame itself works: checks, exception recovery in real
; and protected mode, and the exit path.
%include "rom.inc"

CODE16
main:
    PRINT "framework: real mode", 10
    mov eax, 0x12345678
    CHECK32 eax, 0x12345678, "eax after mov"
    CHECK16 ax, 0x5678, "ax"
    CHECK8 ah, 0x56, "ah"
    stc
    CHECK_FLAGS FL_CF, FL_CF, "CF after stc"
    INSTALL_RM_HANDLERS
    SET_RECOVERY .after_de
    xor cx, cx
    div cl
.after_de:
    CHECK_EXC 0, 0xffffffff, "div by zero in real mode"
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "framework: protected mode", 10
    CHECK32 cs, SEL_CODE32, "cs in pm"
    SET_RECOVERY .after_gp
.fault:
    mov ax, 0x4b            ; index 9, RPL 3: empty slot
    mov ds, ax
.after_gp:
    CHECK_EXC 13, 0x48, "load of an empty descriptor"
    CHECK32 [VAR_EXC_EIP], .fault + 4, "faulting eip"
    CHECK32 ds, SEL_DATA32, "ds unchanged"
    PASS

; modeswitch.asm: switching between real mode, 32-bit protected mode and 16-bit
; protected mode and back, and what the segment caches keep across the switches.
;
; Path: real -> 32-bit PM (ENTER_PM32) -> 16-bit PM (far JMP to CODE16)
;       -> far CALL to 32-bit code and RETF back -> real mode (clear CR0.PE with
;       64 KiB descriptors loaded, far JMP, reload segments) -> 32-bit PM again.
;
; In every mode (SDM Vol 3 9.9 "Mode Switching", Vol 1 3.6 "Operand-size and
; address-size attributes", Vol 3 5.2/3.4.5 D flag):
;   - CR0.PE and CS hold what the mode says
;   - the default operand size comes from CS.D (real mode: 16): PUSH eAX (50),
;     66 50, PUSH imm8 (6A) move ESP by 2 or 4; INC eAX (40) wraps AX or EAX
;   - the default address size: 8D 07 is LEA AX,[BX] (16) or LEA EAX,[EDI] (32)
; Stack (SDM Vol 3 3.4.5 "D/B flag", Vol 1 6.2.3): the stack pointer size comes from
;   SS.B, not from the code: a 16-bit stack (B=0) in 16-bit PM changes only SP;
;   in real mode SP wraps 0 -> FFFE.
; Far CALL 16 -> 32 (CALL page): the 32-bit far call pushes CS and EIP as dwords,
;   RETF (32-bit) returns to the 16-bit code.
; Leaving protected mode (SDM Vol 3 9.9.2): after CR0.PE is cleared and before the
;   far JMP, CS/DS still hold the protected-mode selectors and their cached bases;
;   after the JMP and segment reloads, real-mode addressing is base = selector*16.
;   (%ifndef QEMU) the cached 64 KiB limit holds in real mode: an access past
;   offset FFFFh faults (#GP, vector 13, or #SS for SS; MOV page "Real-Address Mode
;   Exceptions"); QEMU 7.2 does not check data segment limits.
; Real-mode exceptions after coming back go through the IVT at IDTR base 0
;   (UD2 -> vector 6).
%include "rom.inc"

; CHECKSEG sreg, value, "what": the 16-bit selector (no reliance on how a
; MOV r32,Sreg fills the upper half; SDM MOV page says that is model specific)
%macro CHECKSEG 3+
    push eax
    xor eax, eax
    mov ax, %1
    CHECK32 eax, %2, %3
    pop eax
%endmacro

; PUSHDELTA "insn bytes", expected, "what": run one push, check how far ESP moved
%macro PUSHDELTA 3+
    mov ebp, esp
    %1
    mov ecx, ebp
    sub ecx, esp
    mov esp, ebp
    CHECK32 ecx, %2, %3
%endmacro

; OPSIZE_CHECKS 16|32, "mode": default operand and address size of the code
%macro OPSIZE_CHECKS 2
    PUSHDELTA {db 0x50}, %1/8, %2, ": push eAX (50)"
    PUSHDELTA {db 0x66, 0x50}, 6-%1/8, %2, ": 66 push eAX"
    PUSHDELTA {db 0x6a, 0x7f}, %1/8, %2, ": push imm8 (6A)"
    mov eax, 0x1234ffff
    db 0x40                         ; inc ax / inc eax
%if %1 == 16
    CHECK32 eax, 0x12340000, %2, ": inc eAX (40) wraps AX only"
%else
    CHECK32 eax, 0x12350000, %2, ": inc eAX (40) on EAX"
%endif
    mov eax, 0x55555555
    mov ebx, 0x11110001
    mov edi, 0x22220002
    db 0x8d, 0x07                   ; lea ax,[bx] / lea eax,[edi]
%if %1 == 16
    CHECK32 eax, 0x55550001, %2, ": 8D 07 is lea ax,[bx]"
%else
    CHECK32 eax, 0x22220002, %2, ": 8D 07 is lea eax,[edi]"
%endif
%endmacro

CODE16
main:
    PRINT "modeswitch: real mode", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 0, "real mode: CR0.PE"
    CHECKSEG cs, 0xf000, "real mode: cs"
    OPSIZE_CHECKS 16, "real mode"
    ; real-mode SP wraps: SS=0, SP=0, push -> SP=FFFE, word at 0:FFFE
    mov ebp, esp
    xor esp, esp
    mov ax, 0xa5c3
    push ax
    mov ecx, esp
    mov esp, ebp
    CHECK32 ecx, 0xfffe, "real mode: push with SP=0 wraps SP"
    CHECK16 [0xfffe], 0xa5c3, "real mode: pushed word at 0:fffe"
    mov dword [VAR_SCRATCH], 0x600dda7a
    ENTER_PM32 pm32_a

CODE32
pm32_a:
    PRINT "modeswitch: 32-bit protected mode", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 1, "pm32: CR0.PE"
    CHECKSEG cs, SEL_CODE32, "pm32: cs"
    CHECKSEG ss, SEL_DATA32, "pm32: ss"
    OPSIZE_CHECKS 32, "pm32"
    jmp SEL_CODE16:pm16_a

CODE16
pm16_a:
    PRINT "modeswitch: 16-bit protected mode", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 1, "pm16: CR0.PE"
    CHECKSEG cs, SEL_CODE16, "pm16: cs"
    OPSIZE_CHECKS 16, "pm16 (32-bit stack)"
    ; 16-bit stack segment: only SP moves, the upper half of ESP stays
    mov ax, SEL_DATA16
    mov ss, ax
    mov ebp, esp
    mov esp, 0xabcd6000
    mov eax, 0x11227788
    push ax
    mov ecx, esp
    mov ss, [cs:pm16_ss32]          ; back to the 32-bit stack
    mov esp, ebp
    CHECK32 ecx, 0xabcd5ffe, "pm16: push on a B=0 stack changes only SP"
    CHECK16 [0x5ffe], 0x7788, "pm16: word pushed at SS.base+SP"
    ; far call 16 -> 32 with 32-bit operand size, RETF back
    mov [VAR_SCRATCH+4], esp
    call dword SEL_CODE32:pm32_sub
pm16_ret:
    CHECKSEG cs, SEL_CODE16, "pm16: cs after retf"
    mov ecx, esp
    CHECK32 ecx, [VAR_SCRATCH+4], "pm16: esp after far call/retf"
    CHECK32 eax, 1, "pm16: the 32-bit subroutine ran"

    ; back to real mode: 64 KiB, byte-granular, base 0 descriptors in all data
    ; segment registers, CS is the 64 KiB CODE16 segment
    mov ax, SEL_DATA16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    ; real mode now, still running on the cached CODE16 descriptor
    CHECKSEG cs, SEL_CODE16, "after clearing PE: cs selector unchanged before the jump"
    CHECKSEG ds, SEL_DATA16, "after clearing PE: ds selector unchanged"
    CHECK32 [VAR_SCRATCH], 0x600dda7a, "after clearing PE: ds cached base 0 still used"
    jmp 0xf000:rm_again

rm_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0_TOP
    lidt [cs:rm_idtr]
    INSTALL_RM_HANDLERS
    PRINT "modeswitch: real mode again", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 0, "real mode again: CR0.PE"
    CHECKSEG cs, 0xf000, "real mode again: cs"
    OPSIZE_CHECKS 16, "real mode again"
    ; real-mode addressing: base = selector * 16
    mov ax, 0x1234
    mov es, ax
    mov word [es:0x0005], 0xbeef    ; linear 0x12345
    mov ax, 0x1000
    mov fs, ax
    CHECK16 [fs:0x2345], 0xbeef, "real mode again: 1234:0005 and 1000:2345 are linear 12345"
    mov dword [0x9ff0], 0x0badf00d
    mov ax, 0x09f0
    mov gs, ax
    CHECK32 [gs:0x00f0], 0x0badf00d, "real mode again: gs base 9f00"
    ; exceptions go through the IVT
    SET_RECOVERY .after_ud
    ud2
.after_ud:
    CHECK_EXC 6, 0xffffffff, "real mode again: ud2 through the IVT"
%ifndef QEMU
    ; SDM MOV "Real-Address Mode Exceptions": #GP / #SS when an operand lies
    ; outside the 64 KiB segment limit (cached from the protected-mode descriptor
    ; and kept by real-mode segment loads). QEMU 7.2 does not check this.
    SET_RECOVERY .after_gp1
    mov eax, [dword 0x10000]
.after_gp1:
    CHECK_EXC 13, 0xffffffff, "real mode again: offset 10000h is past the 64 KiB limit"
    SET_RECOVERY .after_gp2
    mov ax, [0xffff]
.after_gp2:
    CHECK_EXC 13, 0xffffffff, "real mode again: word at offset ffffh"
    SET_RECOVERY .after_ss
    mov bp, 0xfffe
    mov eax, [bp]
.after_ss:
    CHECK_EXC 12, 0xffffffff, "real mode again: dword at ss:fffe"
%endif

    ; protected mode again, straight into 32-bit code
    cli
    lgdt [cs:rm_gdtr]
    lidt [cs:rm_pm_idtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_CODE32:pm32_b

pm16_ss32: dw SEL_DATA32
rm_idtr:    dw 0x3ff
            dd 0
rm_gdtr:    dw GDT_LIMIT
            dd GDT_BASE
rm_pm_idtr: dw IDT_LIMIT
            dd IDT_BASE

CODE32
; called from 16-bit code with a 32-bit far call
pm32_sub:
    CHECKSEG cs, SEL_CODE32, "pm32_sub: cs"
    mov ecx, [VAR_SCRATCH+4]
    sub ecx, esp
    CHECK32 ecx, 8, "pm32_sub: 32-bit far call pushed 8 bytes"
    mov ecx, [esp]
    CHECK32 ecx, pm16_ret, "pm32_sub: pushed eip"
    mov ecx, [esp+4]
    CHECK16 cx, SEL_CODE16, "pm32_sub: pushed cs"
    OPSIZE_CHECKS 32, "pm32_sub"
    mov eax, 1
    retf

pm32_b:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0_TOP
    PRINT "modeswitch: 32-bit protected mode again", 10
    mov eax, cr0
    and eax, 1
    CHECK32 eax, 1, "pm32 again: CR0.PE"
    CHECKSEG cs, SEL_CODE32, "pm32 again: cs"
    OPSIZE_CHECKS 32, "pm32 again"
    CHECK16 [0x12345], 0xbeef, "pm32 again: flat view of linear 12345"
    SET_RECOVERY .after_gp
    mov ax, 0x4b
    mov es, ax
.after_gp:
    CHECK_EXC 13, 0x48, "pm32 again: #GP through the IDT"
    PASS

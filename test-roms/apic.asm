; apic.asm: the local APIC and the I/O APIC, as firmware and an operating
; system program them (32-bit protected mode, interrupt gates).
;
;   - Local APIC (SDM Vol. 3A chapter 10): CPUID's APIC flag, IA32_APIC_BASE,
;     the version register, software enable and the spurious vector, the
;     timer in periodic and one-shot modes (its current count going down, 0
;     after a one-shot), TSC-deadline mode when CPUID offers it, self-IPIs
;     with the "self" shorthand, ISR while a handler runs and after its EOI,
;     the TPR holding a priority class off (PPR), a higher class nesting and
;     one of the same class waiting for the EOI, an NMI sent to itself.
;   - I/O APIC (82093AA data sheet): the version register's entry count; the
;     8254 on pin 2 (QEMU's `pc` wiring of IRQ 0) and the RTC on pin 8, edge
;     triggered; the keyboard on pin 1, level-triggered: remote IRR set while
;     the handler runs, cleared by the EOI.
;   - IA32_APIC_BASE's global disable: CPUID's flag goes, and the 8259
;     reaches the CPU directly.
; Interrupts are taken in STI/HLT pairs or at STI/NOP points, so that each
; arrives at the same instruction under every emulator; periodic sources
; are counted "at least" (see COUNTED). The window's move by IA32_APIC_BASE
; is not checked here: QEMU 7.2 keeps the window where it is, and Bochs
; (which would then run this ROM) misses the keyboard interrupt on pin 1
; (not investigated yet).
%include "rom.inc"

APIC    equ 0xfee00000
IOAPIC  equ 0xfec00000
A_TPR   equ APIC + 0x80
A_PPR   equ APIC + 0xa0
A_EOI   equ APIC + 0xb0
A_SVR   equ APIC + 0xf0
A_ICR   equ APIC + 0x300
A_TIMER equ APIC + 0x320
A_INIT  equ APIC + 0x380
A_CUR   equ APIC + 0x390
A_DCR   equ APIC + 0x3e0

V_TIMER   equ 0x40
V_ONESHOT equ 0x41
V_PIT     equ 0x50
V_KBD     equ 0x51
V_RTC     equ 0x58
V_IPI     equ 0x60
V_SAME    equ 0x65
V_HIGH    equ 0x70
V_DEADL   equ 0x42

VAR_TIMER   equ VAR_SCRATCH
VAR_ONESHOT equ VAR_SCRATCH + 0x04
VAR_PIT     equ VAR_SCRATCH + 0x08
VAR_RTC     equ VAR_SCRATCH + 0x0c
VAR_IPI     equ VAR_SCRATCH + 0x10
VAR_ISR     equ VAR_SCRATCH + 0x14  ; ISR bits 0x60-0x7f in the IPI handler
VAR_PPR     equ VAR_SCRATCH + 0x18  ; PPR in the IPI handler
VAR_SAME    equ VAR_SCRATCH + 0x1c
VAR_HIGH    equ VAR_SCRATCH + 0x20
VAR_SAME_IN equ VAR_SCRATCH + 0x24  ; VAR_SAME and VAR_HIGH as the IPI
VAR_HIGH_IN equ VAR_SCRATCH + 0x28  ; handler saw them before its EOI
VAR_NMI     equ VAR_SCRATCH + 0x2c
VAR_KBD     equ VAR_SCRATCH + 0x30
VAR_ENTRY   equ VAR_SCRATCH + 0x34  ; pin 1's entry in the keyboard handler
VAR_KEY     equ VAR_SCRATCH + 0x38
VAR_PIC     equ VAR_SCRATCH + 0x3c
VAR_DEADL   equ VAR_SCRATCH + 0x40

; IOAPIC_SET pin, low dword: entry `pin` to `low`, destination APIC 0
%macro IOAPIC_SET 2
    mov dword [IOAPIC], 0x10 + 2 * (%1)
    mov dword [IOAPIC + 0x10], %2
    mov dword [IOAPIC], 0x11 + 2 * (%1)
    mov dword [IOAPIC + 0x10], 0
%endmacro

; COUNTED var, n, "what": at least n. The clocks (vemu's by default, QEMU's,
; Bochs's) follow the host's: a periodic source can interrupt again while
; its handler runs, and that request is taken right after IRET.
%macro COUNTED 3
    cmp dword [%1], %2
    jae %%ok
    FAIL %3
%%ok:
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    SET_GATE 2, nmi, 0x8e00
    SET_GATE 0x20, pic_irq0, 0x8e00
    SET_GATE V_TIMER, count_timer, 0x8e00
    SET_GATE V_ONESHOT, count_oneshot, 0x8e00
    SET_GATE V_DEADL, count_deadline, 0x8e00
    SET_GATE V_PIT, count_pit, 0x8e00
    SET_GATE V_KBD, keyboard, 0x8e00
    SET_GATE V_RTC, rtc, 0x8e00
    SET_GATE V_IPI, ipi, 0x8e00
    SET_GATE V_SAME, count_same, 0x8e00
    SET_GATE V_HIGH, count_high, 0x8e00
    SET_GATE 0xff, spurious, 0x8e00
    mov edi, VAR_SCRATCH
    mov ecx, 0x20
    xor eax, eax
    rep stosd

    mov eax, 1
    cpuid
    test edx, 1 << 9
    jnz .has_apic
    FAIL "CPUID.1:EDX.APIC"
.has_apic:
    mov ecx, 0x1b
    rdmsr
    and eax, 0xfffff900
    CHECK32 eax, 0xfee00900, "IA32_APIC_BASE: 0xfee00000, enabled, BSP"
    mov eax, [APIC + 0x30]
    and eax, 0x00ff00ff
    CHECK32 eax, 0x00050014, "version 0x14, highest LVT entry 5"
%ifndef DIFFTEST
    ; (QEMU's version is 0x20, vemu's the 82093AA's 0x11.)
    mov dword [IOAPIC], 1
    mov eax, [IOAPIC + 0x10]
    and eax, 0x00ff0000
    CHECK32 eax, 0x00170000, "I/O APIC: 24 entries"
%endif

    ; The 8259s: initialized, every line masked (PIC_INIT also sets up
    ; virtual-wire mode and software-enables the APIC).
    PIC_INIT 0x20, 0x28
    mov dword [A_SVR], 0x1ff
    mov dword [A_TPR], 0

    ; ---- APIC timer, periodic: divide by 1, 1,000,000 bus clocks ----
    mov dword [A_DCR], 0xb
    mov dword [A_TIMER], 0x20000 | V_TIMER
    mov dword [A_INIT], 1000000
    mov ecx, 5
.periodic:
    sti
    hlt
    cli
    loop .periodic
    COUNTED VAR_TIMER, 5, "five periodic timer interrupts, one per HLT"
    mov dword [A_TIMER], 0x10000 | V_TIMER
    mov dword [A_INIT], 0

    ; ---- one-shot: the count goes down, then one interrupt ----
    mov dword [A_TIMER], V_ONESHOT
    mov dword [A_INIT], 2000000
%ifndef DIFFTEST
    mov eax, [A_CUR]
    mov ecx, 100
.spin:
    loop .spin
    mov ebx, [A_CUR]
    cmp eax, 2000000
    ja .bad_count
    cmp ebx, eax
    jae .bad_count
    jmp .counting
.bad_count:
    FAIL "one-shot current count going down from the initial count"
.counting:
%endif
    sti
    hlt
    cli
    CHECK32 [VAR_ONESHOT], 1, "one one-shot interrupt"
    CHECK32 [A_CUR], 0, "one-shot current count 0 after it fired"
    mov ecx, 10000
.after:
    loop .after
    mov eax, [APIC + 0x200 + (V_ONESHOT / 32) * 0x10]
    and eax, 1 << (V_ONESHOT % 32)
    CHECK32 eax, 0, "no second one-shot request"
    mov dword [A_TIMER], 0x10000 | V_ONESHOT

    ; ---- TSC-deadline mode, if CPUID.1:ECX offers it ----
    mov eax, 1
    cpuid
    test ecx, 1 << 24
    jz .no_deadline
    mov dword [A_TIMER], 0x40000 | V_DEADL
    rdtsc
    add eax, 500000
    adc edx, 0
    mov ecx, 0x6e0
    wrmsr
    sti
    hlt
    cli
    CHECK32 [VAR_DEADL], 1, "one TSC-deadline interrupt"
    mov ecx, 0x6e0
    rdmsr
    CHECK32 eax, 0, "IA32_TSC_DEADLINE cleared when it fired"
    mov dword [A_TIMER], 0x10000 | V_ONESHOT
.no_deadline:

    ; ---- the 8254 through I/O APIC pin 2 ----
    IOAPIC_SET 2, V_PIT
    mov al, 0x34                ; channel 0, mode 2, 1000 clocks
    out 0x43, al
    mov ax, 1000
    out 0x40, al
    mov al, ah
    out 0x40, al
    mov ecx, 3
.pit:
    sti
    hlt
    cli
    loop .pit
    COUNTED VAR_PIT, 3, "three 8254 interrupts through pin 2"
    IOAPIC_SET 2, 0x10000 | V_PIT

    ; ---- the RTC's periodic interrupt through pin 8 ----
%ifndef DIFFTEST
    ; Register C's flags cleared first (the MC146818 sets PF at every
    ; period, QEMU only while PIE is on: not in the differential build).
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
%endif
    IOAPIC_SET 8, V_RTC
    mov al, 0x0b
    out 0x70, al
    mov al, 0x42                ; PIE, 24-hour
    out 0x71, al
    mov ecx, 2
.rtc:
    sti
    hlt
    cli
    loop .rtc
    COUNTED VAR_RTC, 2, "two RTC interrupts through pin 8"
    mov al, 0x0b
    out 0x70, al
    mov al, 0x02
    out 0x71, al
    IOAPIC_SET 8, 0x10000 | V_RTC

    ; ---- the keyboard on pin 1, level-triggered ----
    IOAPIC_SET 1, 0x8000 | V_KBD
    mov al, 0x60                ; command byte: keyboard interrupt on
    out 0x64, al
    mov al, 0x01
    out 0x60, al
    mov al, 0xd2                ; a byte as if from the keyboard
    out 0x64, al
    mov al, 0x5a
    out 0x60, al
    sti
    nop
    nop
    cli
    CHECK32 [VAR_KBD], 1, "one keyboard interrupt through pin 1"
    CHECK8 [VAR_KEY], 0x5a, "the keyboard's byte"
    mov eax, [VAR_ENTRY]
    and eax, 0x1ffff
    CHECK32 eax, 0xc000 | V_KBD, "remote IRR set while the handler runs"
    mov dword [IOAPIC], 0x12
    mov eax, [IOAPIC + 0x10]
    CHECK32 eax, 0x8000 | V_KBD, "remote IRR cleared by the EOI"
    IOAPIC_SET 1, 0x18000 | V_KBD
    mov al, 0x60
    out 0x64, al
    mov al, 0x00
    out 0x60, al

    ; ---- self-IPIs, TPR and PPR, ISR and EOI ----
    mov dword [A_TPR], 0x60
    mov dword [A_ICR], 0x40000 | V_IPI      ; shorthand "self", fixed
    sti
    nop
    nop
    cli
    CHECK32 [VAR_IPI], 0, "a TPR of class 6 holds vector 0x60 off"
    mov eax, [APIC + 0x200 + (V_IPI / 32) * 0x10]
    CHECK32 eax, 1 << (V_IPI % 32), "vector 0x60 waits in IRR"
    CHECK32 [A_PPR], 0x60, "PPR is the TPR"
    mov dword [A_TPR], 0x50
    sti
    nop
    nop
    nop
    cli
    CHECK32 [VAR_IPI], 1, "taken once the TPR is lower"
    CHECK32 [VAR_ISR], 1 << (V_IPI % 32), "ISR holds vector 0x60 in its handler"
    CHECK32 [VAR_PPR], 0x60, "PPR is the class in service"
    CHECK32 [VAR_HIGH_IN], 1, "a higher class nests"
    CHECK32 [VAR_SAME_IN], 0, "the same class waits for the EOI"
    CHECK32 [VAR_SAME], 1, "then it is taken"
    mov eax, [APIC + 0x100 + (V_IPI / 32) * 0x10]
    CHECK32 eax, 0, "ISR empty after the EOIs"
    mov dword [A_TPR], 0
    CHECK32 [A_PPR], 0, "PPR 0"

    ; ---- an NMI to itself, interrupts off ----
    mov dword [A_ICR], 0x40400
    jmp .nmi_sent
.nmi_sent:
    nop
    CHECK32 [VAR_NMI], 1, "the NMI was taken with IF clear"

    ; ---- global disable: no APIC, the 8259 straight to the CPU ----
    mov ecx, 0x1b
    rdmsr
    and eax, ~0x800
    wrmsr
    mov eax, 1
    cpuid
    and edx, 1 << 9
    CHECK32 edx, 0, "CPUID.1:EDX.APIC clear once disabled"
    mov al, 0xfe                ; IRQ 0 unmasked at the 8259
    out 0x21, al
    sti
    hlt
    cli
    COUNTED VAR_PIC, 1, "the 8254 through the 8259 alone"
    mov al, 0xff
    out 0x21, al
    PASS

count_timer:
    inc dword [VAR_TIMER]
    jmp apic_eoi
count_oneshot:
    inc dword [VAR_ONESHOT]
    jmp apic_eoi
count_deadline:
    inc dword [VAR_DEADL]
    jmp apic_eoi
count_pit:
    inc dword [VAR_PIT]
    jmp apic_eoi
count_same:
    inc dword [VAR_SAME]
    jmp apic_eoi
count_high:
    inc dword [VAR_HIGH]
apic_eoi:
    mov dword [A_EOI], 0
    iretd

; Pin 1, level-triggered: the entry while in service, then the byte (which
; drops the line) and the EOI.
keyboard:
    push eax
    inc dword [VAR_KBD]
    mov dword [IOAPIC], 0x12
    mov eax, [IOAPIC + 0x10]
    mov [VAR_ENTRY], eax
    in al, 0x60
    mov [VAR_KEY], al
    pop eax
    jmp apic_eoi

rtc:
    push eax
    inc dword [VAR_RTC]
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
    pop eax
    jmp apic_eoi

; Vector 0x60: ISR and PPR as seen here, then a self-IPI of the same class
; (waits) and one of a higher class (nests) with interrupts on.
ipi:
    push eax
    inc dword [VAR_IPI]
    mov eax, [APIC + 0x100 + (V_IPI / 32) * 0x10]
    mov [VAR_ISR], eax
    mov eax, [A_PPR]
    mov [VAR_PPR], eax
    mov dword [A_ICR], 0x40000 | V_SAME
    mov dword [A_ICR], 0x40000 | V_HIGH
    sti
    nop
    nop
    cli
    mov eax, [VAR_SAME]
    mov [VAR_SAME_IN], eax
    mov eax, [VAR_HIGH]
    mov [VAR_HIGH_IN], eax
    pop eax
    jmp apic_eoi

nmi:
    inc dword [VAR_NMI]
    iretd

pic_irq0:
    push eax
    inc dword [VAR_PIC]
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

spurious:
    FAIL "spurious interrupt"

; halt-late-edge.asm: the timer's interrupt edge comes while interrupts are
; disabled, and STI's shadow lets the HLT run before the CPU looks again: the
; CPU must still wake for the request the 8259 latched, however far the
; clock moved past the edge (a halted CPU's look ahead for the next event
; must not skip one the devices have not yet been brought up to). vemu only:
; QEMU 7.2 did not wake here (it timed out; not looked into yet).
%include "rom.inc"
CODE16
main:
    xor ax, ax
    mov ds, ax
    mov word [0x30 * 4], tick       ; IRQ 0 at vector 0x30
    mov word [0x30 * 4 + 2], cs
    mov byte [flag], 0
    ; The local APIC holds the 8259 off until virtual-wire mode is set up;
    ; turned off (IA32_APIC_BASE bit 11), it lets INTR straight through.
    mov ecx, 0x1b
    rdmsr
    and ax, ~(1 << 11)
    wrmsr
    PIC_INIT_8259 0x30, 0x38        ; vectors 0x30 and 0x38, all masked
    mov al, 0xfe                    ; only the timer
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    cli
    mov al, 0x38                    ; channel 0, LSB then MSB, mode 4 (one strobe)
    out 0x43, al
    mov al, 100                     ; 100 ticks: about 84 us
    out 0x40, al
    xor al, al
    out 0x40, al
    mov ecx, 1000000                ; well past the strobe, interrupts off
.wait:
    dec ecx
    jnz .wait
    sti
    hlt
    cmp byte [flag], 1
    jne .lost
    PASS
.lost:
    FAIL "the timer's interrupt was lost"

tick:
    mov byte [flag], 1
    push ax
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

flag equ 0x600

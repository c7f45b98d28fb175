; codedata.asm: a real-mode program in the style of the DOS era, which keeps its
; variables in its code segment, right beside the loop that updates them: every
; iteration writes memory on the page that holds the code it runs. Copied to
; 1000:0000 and run there 2,000,000 times (times SCALE): a running counter, a
; 32-bit sum of it, a sum of bytes looked up in a table and a step count, all
; in bytes of the code page.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

SEG_PROG equ 0x1000
OUTER    equ 20 * SCALE
INNER    equ 50000       ; OUTER * 2 * INNER iterations in all

STEPS    equ 2 * INNER * OUTER

; The sum of the 16-bit counter's values 3n mod 65536, n = 1..STEPS: whole
; periods of 65536 steps, then the rest r, where 3n wraps past 65536 after
; n = 21845 and again after n = 43690.
%assign Q STEPS / 65536
%assign R STEPS % 65536
%assign PARTIAL 3 * R * (R + 1) / 2
%if R > 21845
%assign PARTIAL PARTIAL - 65536 * (R - 21845)
%endif
%if R > 43690
%assign PARTIAL PARTIAL - 65536 * (R - 43690)
%endif
COUNTER_SUM equ (Q * (65536 * 65535 / 2) + PARTIAL) & 0xffffffff

CODE16
main:
    ; Copy the program to 1000:0000 and call it there.
    mov ax, SEG_PROG
    mov es, ax
    xor di, di
    mov si, prog
    mov cx, prog_end - prog
    cs rep movsb
    xor ax, ax
    mov es, ax
    call SEG_PROG:0
    ; It leaves the sum of the counter's values in DX:AX, the sum of the
    ; table bytes in BL and the step count (mod 256) in BH.
    shl edx, 16
    mov dx, ax
    CHECK32 edx, COUNTER_SUM, "sum of the counter"
    CHECK8 bl, (STEPS / 8 * 0x264) & 0xff, "sum of the table bytes"
    CHECK8 bh, STEPS & 0xff, "steps"
    PASS

; Offsets within the program once copied (it runs with DS = CS).
%define V(x) (x - prog)

prog:
    push ds
    push cs
    pop ds
    mov word [V(outer)], OUTER
.outer:
    mov cx, INNER
.inner:
    ; Twice per round.
%rep 2
    mov ax, [V(counter)]
    add ax, 3
    mov [V(counter)], ax
    add [V(sum_lo)], ax
    adc word [V(sum_hi)], 0
    mov bx, ax
    and bx, 7
    mov al, [V(table) + bx]
    add [V(tsum)], al
    inc byte [V(steps)]
%endrep
    dec cx
    jnz .inner
    dec word [V(outer)]
    jnz .outer
    mov ax, [V(sum_lo)]
    mov dx, [V(sum_hi)]
    mov bl, [V(tsum)]
    mov bh, [V(steps)]
    pop ds
    retf
counter: dw 0
sum_lo:  dw 0
sum_hi:  dw 0
tsum:    db 0
steps:   db 0
outer:   dw 0
table:   db 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
prog_end:

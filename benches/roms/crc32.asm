; crc32.asm: table-driven CRC-32 (the IEEE polynomial, reflected) of a 1 MiB
; buffer, four times (times SCALE), in 32-bit protected mode with paging on.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

PD      equ 0x10000
PT      equ 0x11000
TABLE   equ 0x20000
BUF     equ 0x100000
BUFLEN  equ 0x100000
PASSES  equ 4 * SCALE

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    ; identity-map the first 4 MiB with 4 KiB pages
    mov edi, PT
    mov eax, 3
    mov ecx, 1024
.map:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    loop .map
    mov dword [PD], PT | 3
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ; the data: a linear congruential sequence of dwords
    mov edi, BUF
    mov ecx, BUFLEN / 4
    mov eax, 12345
.fill:
    imul eax, eax, 1103515245
    add eax, 12345
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .fill
    ; the table
    xor edx, edx
.entry:
    mov eax, edx
    mov ecx, 8
.bit:
    shr eax, 1
    jnc .nox
    xor eax, 0xedb88320
.nox:
    dec ecx
    jnz .bit
    mov [TABLE + edx*4], eax
    inc edx
    cmp edx, 256
    jb .entry
    ; the passes
    mov ebp, PASSES
.pass:
    mov ebx, 0xffffffff
    mov esi, BUF
    mov ecx, BUFLEN
.byte:
    movzx eax, byte [esi]
    xor al, bl
    shr ebx, 8
    xor ebx, [TABLE + eax*4]
    inc esi
    dec ecx
    jnz .byte
    not ebx
    dec ebp
    jnz .pass
    CHECK32 ebx, 0xdc459914, "crc32 of the buffer"
    PASS

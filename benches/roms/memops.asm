; memops.asm: memcpy and memset of 1 MiB with REP MOVSD/STOSD, eight times each,
; then with plain loops, twice each (times SCALE; flat 32-bit protected mode).
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

SRC     equ 0x100000
DST     equ 0x200000
DWORDS  equ 0x40000

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    cld
    mov ebp, 8 * SCALE
.rep:
    mov edi, SRC
    mov ecx, DWORDS
    mov eax, ebp
    rep stosd
    mov esi, SRC
    mov edi, DST
    mov ecx, DWORDS
    rep movsd
    dec ebp
    jnz .rep
    CHECK32 [DST + 4 * DWORDS - 4], 1, "rep movsd copied the last stosd pattern"
    mov ebp, 2 * SCALE
.loop:
    mov edi, SRC
    mov ecx, DWORDS
    mov eax, ebp
.set:
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .set
    mov esi, SRC
    mov edi, DST
    mov ecx, DWORDS
.copy:
    mov eax, [esi]
    mov [edi], eax
    add esi, 4
    add edi, 4
    dec ecx
    jnz .copy
    dec ebp
    jnz .loop
    CHECK32 [DST + 4 * DWORDS - 4], 1, "the loop copied the last pattern"
    PASS

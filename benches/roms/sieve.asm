; sieve.asm: the sieve of Eratosthenes up to 1,000,000, three times (times SCALE), in flat
; 32-bit protected mode; 78498 primes each time.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

N       equ 1000000
SIEVE   equ 0x100000
RUNS    equ 3 * SCALE

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    mov ebp, RUNS
.run:
    mov edi, SIEVE
    mov ecx, N
    mov al, 1
    rep stosb
    mov ebx, 2                  ; i
.outer:
    mov eax, ebx
    imul eax, ebx               ; i * i
    cmp eax, N
    jae .count
    cmp byte [SIEVE + ebx], 0
    je .next
.inner:
    mov byte [SIEVE + eax], 0
    add eax, ebx
    cmp eax, N
    jb .inner
.next:
    inc ebx
    jmp .outer
.count:
    xor edx, edx
    mov esi, 2
.c: movzx eax, byte [SIEVE + esi]
    add edx, eax
    inc esi
    cmp esi, N
    jb .c
    dec ebp
    jnz .run
    CHECK32 edx, 78498, "primes below 1,000,000"
    PASS

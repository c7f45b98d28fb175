; matmul.asm: a 64 x 64 matrix product in packed double precision (SSE2:
; MULPD, ADDPD, UNPCKLPD, CVTSI2SD, MOVAPD), SCALE times. A[i][j] = (i + j)
; mod 7 and B[i][j] = i * j mod 5, so every sum is an exact integer: the sum of
; the product's elements is 1247680.
%include "rom.inc"
cpu willamette
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

N     equ 64
MAT_A equ 0x100000              ; N x N doubles each, 32 KiB
MAT_B equ 0x108000
MAT_C equ 0x110000

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    mov eax, cr4
    or eax, 0x200               ; OSFXSR
    mov cr4, eax
    ; A and B from their formulas.
    xor esi, esi                ; i
.fill_i:
    xor edi, edi                ; j
.fill_j:
    mov eax, esi
    add eax, edi
    xor edx, edx
    mov ecx, 7
    div ecx
    cvtsi2sd xmm0, edx
    mov eax, esi
    imul eax, edi
    xor edx, edx
    mov ecx, 5
    div ecx
    cvtsi2sd xmm1, edx
    mov eax, esi
    shl eax, 6
    add eax, edi
    movsd [MAT_A + eax * 8], xmm0
    movsd [MAT_B + eax * 8], xmm1
    inc edi
    cmp edi, N
    jb .fill_j
    inc esi
    cmp esi, N
    jb .fill_i

    mov ebp, SCALE
.again:
    ; C = 0
    xorpd xmm0, xmm0
    mov ecx, N * N / 2
    mov edi, MAT_C
.clear:
    movapd [edi], xmm0
    add edi, 16
    loop .clear
    ; C[i][j] += A[i][k] * B[k][j], two j at a time.
    xor esi, esi                ; i
.i:
    xor ebx, ebx                ; k
.k:
    mov eax, esi
    shl eax, 6
    add eax, ebx
    movsd xmm1, [MAT_A + eax * 8]
    unpcklpd xmm1, xmm1         ; A[i][k] in both lanes
    mov eax, ebx
    shl eax, 9                  ; row k of B
    lea edx, [MAT_B + eax]
    mov eax, esi
    shl eax, 9
    lea edi, [MAT_C + eax]      ; row i of C
    mov ecx, N / 2
.j:
    movapd xmm2, [edx]
    mulpd xmm2, xmm1
    addpd xmm2, [edi]
    movapd [edi], xmm2
    add edx, 16
    add edi, 16
    dec ecx
    jnz .j
    inc ebx
    cmp ebx, N
    jb .k
    inc esi
    cmp esi, N
    jb .i
    dec ebp
    jnz .again

    ; The sum of C's elements.
    xorpd xmm0, xmm0
    mov ecx, N * N / 2
    mov edi, MAT_C
.sum:
    addpd xmm0, [edi]
    add edi, 16
    loop .sum
    movapd xmm1, xmm0
    unpckhpd xmm1, xmm1
    addsd xmm0, xmm1
    cvttsd2si eax, xmm0
    CHECK32 eax, 1247680, "the sum of the product's elements"
    PASS

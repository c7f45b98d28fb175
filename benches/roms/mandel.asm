; mandel.asm: the Mandelbrot set through the x87 stack: 64 x 48 points of
; [-2, 0.6] x [-1.2, 1.2], at most 100 iterations each, in extended precision
; with double constants, SCALE times. The iteration count, 91831, is what the
; same operations in C's long double give on an x86-64 host.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif
%define RO(x) (x + 0xF0000)

W     equ 64
H     equ 48
MAXIT equ 100
VARS  equ 0x10000               ; px, py (dwords), cr, ci (doubles)

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    mov ebp, SCALE
.again:
    xor ebx, ebx                ; iterations in all
    mov dword [VARS + 4], 0
.row:
    fild dword [VARS + 4]
    fmul qword [RO(step_y)]
    fadd qword [RO(y0)]
    fstp qword [VARS + 16]      ; ci
    mov dword [VARS], 0
.col:
    fild dword [VARS]
    fmul qword [RO(step_x)]
    fadd qword [RO(x0)]
    fstp qword [VARS + 8]       ; cr
    fldz                        ; zi
    fldz                        ; zr zi
    mov ecx, MAXIT
.it:
    fld st0                     ; zr zr zi
    fmul st0, st0               ; zr2 zr zi
    fld st2
    fmul st0, st0               ; zi2 zr2 zr zi
    fld st1
    fadd st0, st1               ; zr2+zi2 zi2 zr2 zr zi
    fcomp qword [RO(four)]      ; zi2 zr2 zr zi
    fnstsw ax
    sahf
    ja .escaped
    fsubp st1, st0              ; zr2-zi2 zr zi
    fadd qword [VARS + 8]       ; zr' zr zi
    fxch st1                    ; zr zr' zi
    fmul st0, st2               ; zr*zi zr' zi
    fadd st0, st0
    fadd qword [VARS + 16]      ; zi' zr' zi
    fstp st2                    ; zr' zi'
    inc ebx
    dec ecx
    jnz .it
.escaped:
    fninit
    inc dword [VARS]
    cmp dword [VARS], W
    jb .col
    inc dword [VARS + 4]
    cmp dword [VARS + 4], H
    jb .row
    dec ebp
    jnz .again
    CHECK32 ebx, 91831, "Mandelbrot iterations"
    PASS

section .rodata
align 8
x0:   dq -2.0
y0:   dq -1.2
step_x: dq 0x1.4cccccccccccdp-5
step_y: dq 0x1.9999999999999p-5
four: dq 4.0

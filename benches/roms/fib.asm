; fib.asm: recursive Fibonacci, fib(27) = 196418, SCALE times, with near calls
; and returns.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif
%ifndef EXPECTED
%define EXPECTED 196418 ; a test defines a wrong one to see the check fail
%endif

CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    mov ebp, SCALE
.again:
    mov eax, 27
    call fib
    dec ebp
    jnz .again
    CHECK32 eax, EXPECTED, "fib(27)"
    PASS

; eax = n -> eax = fib(n)
fib:
    cmp eax, 2
    jb .done
    push eax
    dec eax
    call fib
    mov ecx, [esp]
    mov [esp], eax
    lea eax, [ecx - 2]
    call fib
    pop ecx
    add eax, ecx
.done:
    ret

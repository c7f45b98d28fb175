; syscall.asm: user-mode (CPL 3) code making 100,000 (times SCALE) system calls through a DPL-3
; interrupt gate; the ring-0 handler adds one to EAX and returns with IRETD.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1     ; the benchmarks scale the work with -DSCALE=n
%endif

CALLS   equ 100000 * SCALE


CODE16
main:
    ENTER_PM32 pm_main
CODE32
pm_main:
    mov ax, SEL_TSS
    ltr ax
    SET_GATE 0x80, syscall, 0xee00      ; interrupt gate, DPL 3
    SET_GATE 0x81, back_to_ring0, 0xee00
    push dword SEL_DATA32_R3        ; ss
    push dword STACK3_TOP           ; esp
    push dword 0x202                ; eflags
    push dword SEL_CODE32_R3        ; cs
    push dword user                 ; eip
    iretd

user:
    xor ebx, ebx
    mov ecx, CALLS
.l: mov eax, ecx
    int 0x80
    sub eax, ecx
    add ebx, eax
    dec ecx
    jnz .l
    int 0x81

syscall:
    inc eax
    iretd

back_to_ring0:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    CHECK32 ebx, CALLS, "system calls made"
    PASS

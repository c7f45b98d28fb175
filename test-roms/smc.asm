; smc.asm: self-modifying code (invariant 5). Each way a guest can change code it
; already ran must show at the very next execution, in both of vemu's tiers:
;   1. a block that rewrites the immediate of its own next instruction (real mode),
;      again on every pass of a loop, so that the loop's block is compiled first;
;   2. code rewritten through a second linear alias of its physical page (paging);
;   3. code replaced by REP MOVSB;
;   4. a routine called often enough to be compiled and chained into, then patched;
;   5. an instruction that straddles two pages, patched on its second page only.
; The routines run from RAM (the ROM cannot be written). SDM Vol. 3A 11.6
; "Self-Modifying Code": a write to a code byte takes effect for the next
; instruction fetched after it (on P6 and later, with no serialization needed).
%include "rom.inc"

RTN         equ 0x20000     ; routines copied here (physical and, by identity, linear)
ALIAS       equ 0x00800000  ; a second linear mapping of RTN's page
PD          equ 0x30000
PT0         equ 0x31000
PT2         equ 0x32000
SPLIT       equ 0x21ffd     ; an instruction straddling the 0x21000/0x22000 boundary

CODE16
main:
    PRINT "smc: real mode", 10
    ; ---- 1. a block rewrites its next instruction, pass after pass ----
    call copy_loop_to_ram
    mov ax, RTN >> 4
    mov ds, ax
    mov es, ax
    xor ebx, ebx
    mov cx, 200
    call (RTN >> 4):0
    xor ax, ax
    mov ds, ax
    mov es, ax
    ; sum of 1..200 = 20100
    CHECK32 ebx, 20100, "1: a loop that rewrites its own next instruction"
    ENTER_PM32 pm_main

; copies the real-mode loop body (loop_body .. loop_end) to RTN
copy_loop_to_ram:
    push ds
    push es
    push cs
    pop ds
    mov ax, RTN >> 4
    mov es, ax
    mov si, loop_body
    xor di, di
    mov cx, loop_end - loop_body
    cld
    rep movsb
    pop es
    pop ds
    ret

; Runs at RTN:0 with DS=ES=RTN>>4, CX = passes; adds 1, 2, ... CX to BX, each
; time through an instruction whose immediate the previous one just wrote.
loop_body:
    mov dx, 1
.again:
    mov [.add - loop_body + 2], dx     ; the imm16 of the ADD below
.add:
    add bx, 0x7777                     ; rewritten before it runs
    inc dx
    dec cx
    jnz .again
    retf
loop_end:

CODE32
pm_main:
    PRINT "smc: protected mode with paging", 10
    ; identity-map the first 4 MiB, and map ALIAS -> RTN's page
    mov edi, PT0
    mov eax, 3
    mov ecx, 1024
.m: mov [edi], eax
    add eax, 0x1000
    add edi, 4
    loop .m
    mov dword [PD], PT0 | 3
    mov dword [PD + (ALIAS >> 22) * 4], PT2 | 3
    mov dword [PT2], RTN | 3
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax

    ; ---- 2. rewrite through a second linear alias ----
    mov esi, rtn_a
    mov edi, RTN
    mov ecx, rtn_a_end - rtn_a
    rep movsb
    mov ecx, 100
.warm2:
    call RTN                           ; returns 0x11111111
    loop .warm2
    CHECK32 eax, 0x11111111, "2: before the rewrite"
    mov dword [ALIAS + rtn_a.imm - rtn_a], 0x22222222
    call RTN
    CHECK32 eax, 0x22222222, "2: after a write through the alias"

    ; ---- 3. REP MOVSB over code ----
    mov esi, rtn_b
    mov edi, RTN
    mov ecx, rtn_b_end - rtn_b
    rep movsb
    call RTN
    CHECK32 eax, 0x33333333, "3: code replaced by rep movsb"

    ; ---- 4. a hot routine, compiled and chained into, then patched ----
    mov esi, rtn_c
    mov edi, RTN + 0x100
    mov ecx, rtn_c_end - rtn_c
    rep movsb
    xor edx, edx
    mov ecx, 300
.warm4:
    call RTN + 0x100                   ; adds 5 to edx
    loop .warm4
    CHECK32 edx, 1500, "4: the hot routine before the patch"
    mov byte [RTN + 0x100 + rtn_c.imm - rtn_c], 7
    xor edx, edx
    mov ecx, 300
.hot4:
    call RTN + 0x100                   ; adds 7 now
    loop .hot4
    CHECK32 edx, 2100, "4: the hot routine after the patch"

    ; ---- 5. an instruction straddling two pages, patched on the second ----
    mov byte [SPLIT], 0xb8             ; mov eax, imm32 (bytes 1-4 on the next page)
    mov dword [SPLIT + 1], 0x44444444
    mov byte [SPLIT + 5], 0xc3         ; ret
    mov ecx, 100
.warm5:
    call SPLIT
    loop .warm5
    CHECK32 eax, 0x44444444, "5: the straddling instruction before the patch"
    mov byte [SPLIT + 4], 0x55         ; the last immediate byte, on the second page
    call SPLIT
    CHECK32 eax, 0x55444444, "5: after a patch of its second page"
    PASS

rtn_a:
    db 0xb8                            ; mov eax, imm32
.imm:
    dd 0x11111111
    ret
rtn_a_end:

rtn_b:
    mov eax, 0x33333333
    ret
rtn_b_end:

rtn_c:
    db 0x83, 0xc2                      ; add edx, imm8
.imm:
    db 5
    ret
rtn_c_end:

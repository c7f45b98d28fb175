; codealias.asm: the same code reached at other addresses, which translated
; code must not confuse (regression tests for the JIT's jump cache and links).
;
;   - One routine run as F000:xxxx and as F100:(xxxx-0x1000): the same linear
;     address, other IPs; CALL pushes and the routine sees the IP of its own
;     CS (SDM Vol. 1 6.3 "Calling procedures using CALL and RET").
;   - A direct jump from RAM at 0x20000 to linear 0x120010, which is physical
;     0x20010 while the A20 gate is closed and 0x120010 once it is open: the
;     jump must reach whatever the address means at the time (A20 mask on
;     every access, SDM Vol. 3A 21.33.1 "Segment wraparound"; port 0x92 bit 1).
%include "rom.inc"

RTN  equ 0x20000
HIGH equ 0x120010

CODE16
main:
    ; ---- one routine under two CS bases ----
    call probe                      ; as F000: the run loop meets it first
    mov [VAR_SCRATCH], ax
    jmp 0xF100:(pass2 - 0x1000)
back:
    mov ax, [VAR_SCRATCH]
    movzx ebx, ax
    CHECK32 ebx, probe.here, "IP seen under CS=F000"
    mov ax, [VAR_SCRATCH + 2]
    movzx ebx, ax
    CHECK32 ebx, probe.here - 0x1000, "IP seen under CS=F100"
    ENTER_PM32 pm_main

    times 0x2000 - ($ - $$) db 0x90
pass2:                              ; runs as F100:(pass2-0x1000)
    call probe                      ; relative: F100:(probe-0x1000)
    mov [VAR_SCRATCH + 2], ax
    jmp 0xF000:back

    times 0x3100 - ($ - $$) db 0x90
probe:                              ; AX = the IP of .here as the CPU sees it
    call .here
.here:
    pop ax
    ret

CODE32
pm_main:
    ; ---- a direct jump whose target moves with the A20 gate ----
    mov al, 2                       ; A20 on (as at power-on)
    out 0x92, al
    mov byte [RTN], 0xe9            ; RTN: jmp near HIGH
    mov dword [RTN + 1], HIGH - (RTN + 5)
    mov byte [RTN + 0x10], 0xb8     ; phys 0x20010: mov eax, 1 / ret
    mov dword [RTN + 0x11], 1
    mov byte [RTN + 0x15], 0xc3
    mov byte [HIGH], 0xb8           ; phys 0x120010: mov eax, 2 / ret
    mov dword [HIGH + 1], 2
    mov byte [HIGH + 5], 0xc3
    xor al, al                      ; A20 off
    out 0x92, al
    call RTN
    CHECK32 eax, 1, "A20 off: HIGH is phys 0x20010"
    invlpg [0]
    call RTN                        ; again (a JIT may link the jump now)
    CHECK32 eax, 1, "A20 off, second call"
    mov al, 2                       ; A20 on
    out 0x92, al
    call RTN
    CHECK32 eax, 2, "A20 on: HIGH is phys 0x120010"
    PASS

; acpi.asm: the ACPI test program (boot-acpi.img, a 1.44 MB floppy).
;
; Run: qemu-system-i386 -M pc,hpet=off -display none -serial stdio -no-reboot
;          -device isa-debug-exit,iobase=0xf4,iosize=0x01
;          -monitor tcp:127.0.0.1:4444,server=on,wait=off
;          -drive file=boot-acpi.img,if=floppy,format=raw -boot a
; (vemu run takes the same options but -M and -device), then `system_powerdown`
; on the monitor once it prints "waiting for the power button".
;
; What the firmware installed from the machine's ACPI tables: it finds the RSDP
; in 0xe0000-0xfffff, checks its checksum, the RSDT's and those of the tables
; the RSDT lists, and prints their signatures, revisions and lengths, the FADT
; (less its checksum and its pointers to the FACS and the DSDT, which depend on
; where the firmware put them), the MADT and the WAET byte by byte; checks the
; FACS and the DSDT and finds the sleep type of \_S5 in the DSDT's AML.
; Then the PIIX4 power management function the FADT describes: it switches to
; ACPI mode through SMI_CMD, checks that the PM timer counts in 24 bits at
; about 3.58 MHz (one BIOS timer tick, 54.9 ms, is 196,600 PM timer ticks:
; half to twice that passes, as QEMU's clock follows the host's), takes the SCI
; (the FADT's interrupt, level-triggered) with only the power button enabled,
; and waits. On the button it prints PM1_STS and enters S5 through PM1a_CNT,
; which must power the machine off (exit status 0). A check that fails prints
; "FAIL: ..." (exit value 1).
;
; High memory (where the firmware puts the tables) is read in big real mode.

%define PROGRAM_NAME "acpi"
STAGE2_SECTORS equ 10

%include "boot.inc"
%include "disk.inc"

USE_ROUTINES rm

STAGE1

TBL_SEG     equ 0x2000          ; 0x20000-0x2ffff: the table being looked at
MAX_TABLE   equ 0xf000
MAX_ENTRIES equ 16
PIC2_VECTOR equ 0x70            ; the BIOS's vectors for IRQ 8-15
PM1_PWRBTN  equ 0x0100
PM1_TMR     equ 0x0001
SLP_EN      equ 0x2000

stage2:
    call enter_unreal
    mov ax, TBL_SEG
    mov es, ax

    ; ---- The RSDP: "RSD PTR " on a 16-byte boundary with a right checksum.
    mov bx, 0xe000
.scan:
    mov gs, bx
    cmp dword [gs:0], 'RSD '
    jne .next
    cmp dword [gs:4], 'PTR '
    jne .next
    xor si, si
    xor al, al
    mov cx, 20
.rsdp_sum:
    add al, [gs:si]
    inc si
    loop .rsdp_sum
    test al, al
    jz .found
.next:
    inc bx
    jnz .scan
    FAIL "no RSDP with a right checksum in 0xe0000-0xfffff"
.found:
    PRINT "rsdp: revision "
    movzx eax, byte [gs:15]
    PRINT_HEX eax, 2
    PRINT ", OEM '"
    mov eax, [gs:9]
    call put4
    movzx eax, word [gs:13]
    call put2
    PRINT "'", 10
    mov esi, [gs:16]

    ; ---- The RSDT and the tables it lists.
    call load_table
    cmp dword [es:0], 'RSDT'
    je .rsdt_ok
    FAIL "the RSDP does not point at an RSDT"
.rsdt_ok:
    call print_header
    sub ecx, 36
    shr ecx, 2
    cmp ecx, MAX_ENTRIES
    jbe .count_ok
    FAIL "more than 16 tables in the RSDT"
.count_ok:
    mov [entry_count], ecx
    xor ebx, ebx
.copy_entry:
    cmp ebx, ecx
    je .entries_copied
    mov eax, [es:36 + ebx * 4]
    mov [entries + ebx * 4], eax
    inc ebx
    jmp .copy_entry
.entries_copied:
    xor ebx, ebx
.table:
    cmp ebx, [entry_count]
    je .tables_done
    mov esi, [entries + ebx * 4]
    call load_table
    call print_header
    cmp dword [es:0], 'FACP'
    jne .not_fadt
    call save_fadt
    mov dword [es:36], 0        ; FIRMWARE_CTRL and DSDT: addresses
    mov dword [es:40], 0
    jmp .dump
.not_fadt:
    cmp dword [es:0], 'APIC'
    je .dump
    cmp dword [es:0], 'WAET'
    jne .next_table
.dump:
    mov byte [es:9], 0          ; the checksum covers the addresses
    call dump
.next_table:
    inc ebx
    jmp .table
.tables_done:
    cmp dword [pm_tmr], 0
    jne .have_fadt
    FAIL "the RSDT lists no FADT"
.have_fadt:

    ; ---- The FACS and the DSDT.
    mov esi, [facs]
    mov ecx, 64
    call copy_high
    cmp dword [es:0], 'FACS'
    jne .bad_facs
    cmp dword [es:4], 64
    je .facs_ok
.bad_facs:
    FAIL "the FADT's FIRMWARE_CTRL is not a 64-byte FACS"
.facs_ok:
    PRINT "facs: length 64", 10
    mov esi, [dsdt]
    call load_table
    cmp dword [es:0], 'DSDT'
    je .dsdt_ok
    FAIL "the FADT's DSDT pointer is not a DSDT"
.dsdt_ok:
    call print_header
    call find_s5
    PRINT "dsdt: \_S5 sleep type "
    movzx eax, byte [slp_typ]
    PRINT_DEC eax
    PRINT 10

    ; ---- The PM function: ACPI mode through SMI_CMD.
    mov dx, [pm1a_cnt]
    in ax, dx
    test al, 1
    jz .legacy
    FAIL "SCI_EN is set before ACPI_ENABLE"
.legacy:
    mov dx, [smi_cmd]
    mov al, [acpi_enable]
    out dx, al
    mov ecx, 0x100000
    mov dx, [pm1a_cnt]
.wait_acpi:
    in ax, dx
    test al, 1
    jnz .acpi_on
    dec ecx
    jnz .wait_acpi
    FAIL "ACPI_ENABLE through SMI_CMD does not set SCI_EN"
.acpi_on:
    PRINT "pm: SCI_EN set through SMI_CMD", 10

    ; ---- The PM timer: 24 bits, counting; one BIOS tick's worth.
    mov dx, [pm_tmr]
    in eax, dx
    mov ebx, eax
    mov ecx, 0x100000
.wait_count:
    in eax, dx
    cmp eax, ebx
    jne .counts
    dec ecx
    jnz .wait_count
    FAIL "the PM timer stands still"
.counts:
    or ebx, eax
    test ebx, 0xff000000
    jz .bits_ok
    FAIL "the PM timer has more than 24 bits"
.bits_ok:
    sti
    hlt                         ; to the start of a BIOS timer tick
    in eax, dx
    mov ebx, eax
    hlt
    in eax, dx
    sub eax, ebx
    and eax, 0xffffff
    cmp eax, 196600 / 2
    jb .bad_rate
    cmp eax, 196600 * 2
    jbe .rate_ok
.bad_rate:
    PRINT "PM timer ticks in one BIOS tick: "
    PRINT_DEC eax
    PRINT 10
    FAIL "the PM timer does not count at 3.58 MHz"
.rate_ok:
    PRINT "pm: the timer counts 24 bits at 3.58 MHz", 10

    ; ---- The SCI with the power button, level-triggered.
    cli
    movzx bx, byte [sci_int]
    cmp bx, 8
    jae .slave
    FAIL "the SCI is not on the second 8259"
.slave:
    sub bx, 8
    shl bx, 2
    mov word [(PIC2_VECTOR * 4) + bx], sci_handler
    mov word [(PIC2_VECTOR * 4) + bx + 2], 0
    shr bx, 2
    mov cl, bl
    mov ah, 1
    shl ah, cl                  ; the SCI's bit on the second 8259
    mov dx, 0x4d1               ; edge/level control: level
    in al, dx
    or al, ah
    out dx, al
    in al, 0xa1                 ; unmask it, and the cascade
    not ah
    and al, ah
    out 0xa1, al
    in al, 0x21
    and al, ~4
    out 0x21, al
    mov dx, [pm1a_evt]          ; clear every status, enable only the button
    mov ax, 0xffff
    out dx, ax
    add dx, 2
    mov ax, PM1_PWRBTN
    out dx, ax
    PRINT "pm: waiting for the power button", 10
.wait_button:
    sti
    hlt
    cli
    cmp byte [sci_seen], 0
    je .wait_button
    PRINT "sci: PM1_STS "
    movzx eax, word [sci_status]
    and eax, ~PM1_TMR           ; the timer's status comes and goes
    PRINT_HEX eax, 4
    PRINT 10
    test eax, PM1_PWRBTN
    jnz .button
    FAIL "the SCI came without the power button's status"
.button:
    mov dx, [pm1a_evt]
    in ax, dx
    test ax, PM1_PWRBTN
    jz .cleared
    FAIL "PWRBTN_STS is still set after writing 1 to it"
.cleared:

    ; ---- S5.
    PRINT "pm: entering S5", 10
    movzx ax, byte [slp_typ]
    shl ax, 10
    or ax, SLP_EN | 1
    mov dx, [pm1a_cnt]
    out dx, ax
    mov ecx, 0x1000000
.still_on:
    dec ecx
    jnz .still_on
    FAIL "the machine is still on after entering S5"

; The SCI: note PM1_STS, clear the power button's status, end the interrupt.
sci_handler:
    push ax
    push dx
    mov dx, [cs:pm1a_evt]
    in ax, dx
    mov [cs:sci_status], ax
    mov byte [cs:sci_seen], 1
    mov ax, PM1_PWRBTN
    out dx, ax
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop dx
    pop ax
    iret

; copy_high: ECX bytes (1 to 64 KiB) from linear address ESI to ES:0.
copy_high:
    pushad
    call enter_unreal
    cli
    xor di, di
.byte:
    mov al, [fs:esi]
    mov [es:di], al
    inc esi
    inc di
    dec ecx
    jnz .byte
    sti
    popad
    ret

; load_table: the table at linear address ESI to ES:0, its length in ECX;
; fails unless its checksum is right.
load_table:
    mov ecx, 36
    call copy_high
    mov ecx, [es:4]
    cmp ecx, 36
    jb .bad_length
    cmp ecx, MAX_TABLE
    ja .bad_length
    call copy_high
    push ecx
    xor al, al
    xor di, di
.sum:
    add al, [es:di]
    inc di
    dec ecx
    jnz .sum
    pop ecx
    test al, al
    jnz .bad_sum
    ret
.bad_length:
    FAIL "a table's length is out of range"
.bad_sum:
    PRINT "FAIL: the checksum of "
    mov eax, [es:0]
    call put4
    PRINT " is wrong", 10
    jmp fail

; print_header: "table SIG revision RR length N, OEM 'O' 'T'" for the table at ES:0.
print_header:
    PRINT "table "
    mov eax, [es:0]
    call put4
    PRINT " revision "
    movzx eax, byte [es:8]
    PRINT_HEX eax, 2
    PRINT " length "
    PRINT_DEC dword [es:4]
    PRINT ", OEM '"
    mov eax, [es:10]
    call put4
    movzx eax, word [es:14]
    call put2
    PRINT "' '"
    mov eax, [es:16]
    call put4
    mov eax, [es:20]
    call put4
    PRINT "'", 10
    ret

; save_fadt: what the program needs of the FADT at ES:0.
save_fadt:
    mov eax, [es:36]
    mov [facs], eax
    mov eax, [es:40]
    mov [dsdt], eax
    mov al, [es:46]
    mov [sci_int], al
    mov ax, [es:48]
    mov [smi_cmd], ax
    mov al, [es:52]
    mov [acpi_enable], al
    mov ax, [es:56]
    mov [pm1a_evt], ax
    mov ax, [es:64]
    mov [pm1a_cnt], ax
    mov ax, [es:76]
    mov [pm_tmr], ax
    ret

; dump: ECX bytes of ES:0 in hex, 16 to a line.
dump:
    pushad
    xor di, di
.line:
    PRINT " "
    mov bx, 16
.byte:
    PRINT " "
    movzx eax, byte [es:di]
    PRINT_HEX eax, 2
    inc di
    dec ecx
    jz .end
    dec bx
    jnz .byte
    PRINT 10
    jmp .line
.end:
    PRINT 10
    popad
    ret

; find_s5: the first element of Name (_S5, Package (n) {...}) in the DSDT at
; ES:0 (ECX bytes long) into slp_typ.
find_s5:
    pushad
    sub ecx, 8
    xor di, di
.look:
    cmp dword [es:di], 0x35535f08       ; NameOp "_S5"
    jne .next
    cmp word [es:di + 4], 0x125f        ; "_" PackageOp
    jne .next
    mov al, [es:di + 6]                 ; a one-byte package length
    test al, 0xc0
    jnz .bad
    mov al, [es:di + 8]                 ; the first element
    cmp al, 0x00                        ; Zero
    je .found
    cmp al, 0x01                        ; One
    je .found
    cmp al, 0x0a                        ; BytePrefix
    jne .bad
    mov al, [es:di + 9]
.found:
    mov [slp_typ], al
    popad
    ret
.next:
    inc di
    dec ecx
    jnz .look
.bad:
    FAIL "no \_S5 package the program can read in the DSDT"

; put4 / put2: the characters in EAX (4) / AX (2), lowest byte first.
put4:
    call put2
    shr eax, 16
put2:
    push eax
    call putc
    mov al, ah
    call putc
    pop eax
    ret

UNREAL_FS

entry_count:  dd 0
entries:      times MAX_ENTRIES dd 0
facs:         dd 0
dsdt:         dd 0
sci_int:      db 0
smi_cmd:      dw 0
acpi_enable:  db 0
pm1a_evt:     dw 0
pm1a_cnt:     dw 0
pm_tmr:       dw 0
slp_typ:      db 0
sci_seen:     db 0
sci_status:   dw 0

DISK_HELPERS
STAGE2_END

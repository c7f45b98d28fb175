; minikernel.asm: a Linux-boot-protocol kernel of our own (bzImage layout,
; protocol 2.06, loaded high, not relocatable), the payload that shows a boot
; loader loading a kernel and an initrd where a real kernel would not fit (the
; SYSLINUX floppy) or could not run yet.
;
; A boot loader (SYSLINUX: LINUX /minikern, INITRD /minird) loads the real-mode
; part (this file's first 1 + SETUP_SECTS sectors) low, the protected-mode part
; at 0x100000, the initrd high, writes the header fields (loader type, command
; line pointer, initrd address and size) and jumps to the setup code at offset
; 0x200 in real mode. The setup code reports on COM1 what the loader told it,
; switches to flat 32-bit protected mode and jumps to code32_start with ESI
; pointing at the real-mode part (whose header sits where Linux's boot_params
; keep it). The protected-mode code then checks that
;   - its own image arrived whole: KERNEL_UNITS units of the position pattern
;     (boot.inc) numbered from KERNEL_FIRST_UNIT follow its code,
;   - the initrd arrived whole: INITRD_UNITS units of the pattern numbered from 0,
;     at the address and of the size the header gives,
;   - the command line holds the word vemu.test=minikernel,
; prints "PASS" (or "FAIL: ...") and ends through isa-debug-exit (0 or 1). When
; that device is absent it powers the machine off through the PIIX4 ACPI
; control register (S5) if it finds the PIIX4 power management function on the
; PCI bus, and halts otherwise.
;
; The build script appends the kernel's pattern to the assembled file and
; writes the initrd (scripts/build-guests.sh); it passes the unit counts with -D.

%ifndef KERNEL_UNITS
%define KERNEL_UNITS 512
%endif
%ifndef INITRD_UNITS
%define INITRD_UNITS 1024
%endif
KERNEL_FIRST_UNIT equ 0x10000
SETUP_SECTS       equ 4
CODE32_START      equ 0x100000
PIIX4_PM          equ 0x80000000 | (1 << 11) | (3 << 8)   ; PCI 00:01.3 config address

%include "boot.inc"

cpu 686

; ---- the real-mode part: boot sector and setup ---------------------------------
section setup start=0 vstart=0
bits 16
    times 0x1f1 - ($ - $$) db 0
hdr:
setup_sects:        db SETUP_SECTS
root_flags:         dw 0
syssize:            dd (pm_code_end - pm_start + KERNEL_UNITS * 512 + 15) / 16
ram_size:           dw 0
vid_mode:           dw 0xffff
root_dev:           dw 0
boot_flag:          dw 0xaa55
    jmp short setup_start       ; offset 0x200: the loader enters here
header_magic:       db "HdrS"
version:            dw 0x0206
realmode_swtch:     dd 0
start_sys_seg:      dw 0
kernel_version:     dw version_string - 0x200
type_of_loader:     db 0
loadflags:          db 0x01     ; LOADED_HIGH: the protected-mode part at 0x100000
setup_move_size:    dw 0
code32_start:       dd CODE32_START
ramdisk_image:      dd 0
ramdisk_size:       dd 0
bootsect_kludge:    dd 0
heap_end_ptr:       dw 0
ext_loader_ver:     db 0
ext_loader_type:    db 0
cmd_line_ptr:       dd 0
initrd_addr_max:    dd 0x37ffffff
kernel_alignment:   dd 0
relocatable_kernel: db 0
min_alignment:      db 0
xloadflags:         dw 0
cmdline_size:       dd 255

USE_ROUTINES rm

setup_start:
    cli
    cld
    mov ax, cs                  ; the loader enters at (base/16 + 0x20):0000
    sub ax, 0x20
    mov ds, ax
    mov es, ax
    call rm_serial_init
    movzx ebx, ax
    shl ebx, 4                  ; EBX = linear base of the real-mode part
    PRINT 10, "minikernel: real-mode setup at "
    PRINT_HEX ebx, 8
    PRINT ", boot protocol "
    movzx eax, word [version]
    PRINT_HEX eax, 4
    PRINT ", loader type "
    movzx eax, byte [type_of_loader]
    PRINT_HEX eax, 2
    PRINT 10
    PRINT "minikernel: command line: "
    mov eax, [cmd_line_ptr]
    test eax, eax
    jz .cmdline_done
    mov esi, eax                ; FS:SI = the command line
    shr eax, 4
    mov fs, ax
    and esi, 15
    mov cx, 255
.cmdline_char:
    mov al, [fs:si]
    test al, al
    jz .cmdline_done
    call putc
    inc si
    loop .cmdline_char
.cmdline_done:
    PRINT 10, "minikernel: initrd at "
    PRINT_HEX dword [ramdisk_image], 8
    PRINT ", "
    PRINT_DEC dword [ramdisk_size]
    PRINT " bytes; protected-mode code at "
    PRINT_HEX dword [code32_start], 8
    PRINT 10

    lea eax, [ebx + gdt]        ; the GDT's linear address
    mov [gdt_pointer + 2], eax
    mov eax, [code32_start]
    mov [pm_jump], eax
    lgdt [gdt_pointer]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov esi, ebx                ; ESI = the boot parameters (this header), as Linux has it
    jmp far dword [pm_jump]

version_string: db "vemu minikernel (boot loader test payload)", 0

BOOT_ROUTINES rm

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08: 32-bit code, base 0, 4 GiB
    dq 0x00cf92000000ffff       ; 0x10: data, base 0, 4 GiB
gdt_pointer:
    dw 3 * 8 - 1
    dd 0
pm_jump:
    dd 0
    dw 0x08

%if ($ - $$) > (1 + SETUP_SECTS) * 512
%error the real-mode part is larger than SETUP_SECTS
%endif
    times (1 + SETUP_SECTS) * 512 - ($ - $$) db 0

; ---- the protected-mode part, at 0x100000 --------------------------------------
section pm follows=setup vstart=CODE32_START
bits 32
pm_start:
USE_ROUTINES pm

pm_entry:                       ; code32_start points here
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, pm_stack_top
    mov ebp, esi
    PRINT "minikernel: in protected mode at "
    PRINT_HEX pm_entry, 8
    PRINT ", boot parameters at "
    PRINT_HEX ebp, 8
    PRINT 10

    PRINT "minikernel: kernel image, "
    PRINT_DEC KERNEL_UNITS * 512
    PRINT " bytes after the code: "
    mov edi, pm_code_end
    mov eax, KERNEL_FIRST_UNIT
    mov ecx, KERNEL_UNITS
    call check_pattern
    jc .kernel_bad
    PRINT "ok", 10

    PRINT "minikernel: initrd contents: "
    cmp dword [ebp + ramdisk_size], INITRD_UNITS * 512
    jne .initrd_size_bad
    mov edi, [ebp + ramdisk_image]
    xor eax, eax
    mov ecx, INITRD_UNITS
    call check_pattern
    jc .initrd_bad
    PRINT "ok", 10

    PRINT "minikernel: command line has vemu.test=minikernel: "
    mov esi, [ebp + cmd_line_ptr]
    test esi, esi
    jz .cmdline_bad
.cmdline_start:                 ; compare the word at each position
    xor ecx, ecx
.cmdline_compare:
    mov al, [word_expected + ecx]
    test al, al
    jz .cmdline_found
    cmp [esi + ecx], al
    jne .cmdline_next
    inc ecx
    jmp .cmdline_compare
.cmdline_next:
    cmp byte [esi], 0
    je .cmdline_bad
    inc esi
    jmp .cmdline_start
.cmdline_found:
    PRINT "ok", 10
    PRINT "PASS", 10
    xor al, al
    jmp power_off

.kernel_bad:
    FAIL "the kernel image after the code is not what the file holds"
.initrd_size_bad:
    PRINT 10
    FAIL "the initrd size is not the one this kernel was built with"
.initrd_bad:
    FAIL "the initrd in memory is not what the file holds"
.cmdline_bad:
    PRINT 10
    FAIL "the word is not there"

fail:
    mov al, 1
; AL = exit value: isa-debug-exit, else ACPI S5 through PIIX4, else halt.
power_off:
    out DEBUG_EXIT_PORT, al
    mov dx, 0xcf8
    mov eax, PIIX4_PM           ; vendor and device
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    cmp eax, 0x71138086
    jne .halt
    mov dx, 0xcf8
    mov eax, PIIX4_PM | 0x40    ; PMBA: the power management I/O base
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    and eax, 0xffc0
    jz .halt
    lea edx, [eax + 4]          ; PM1 control: SLP_EN with sleep type 0 (S5 on PIIX4)
    mov ax, 0x2000
    out dx, ax
.halt:
    cli
    hlt
    jmp .halt

word_expected: db "vemu.test=minikernel", 0

BOOT_ROUTINES pm

align 16
pm_stack:
    times 1024 db 0
pm_stack_top:

    align 512, db 0
pm_code_end:                    ; the pattern follows in the file

; cdrom.asm: boot test for an El Torito CD (boot-cd.iso), booted without
; emulation: the BIOS reads the first 2048 bytes of this program's file (boot
; load size 4 virtual sectors) to 0:7C00 and calls it with the CD's drive number.
; That first sector (stage 1) reads the next two (stage 2) to 0:8400 with AH=42h,
; finding the file through the boot information table, and jumps there.
;
; Run: qemu-system-i386 -nographic -device isa-debug-exit,iobase=0xf4,iosize=0x01
;          -drive file=boot-cd.iso,media=cdrom,format=raw -boot d
; The program's file (boot.bin in the ISO) is FILE_SECTORS CD sectors: the two
; stages, then the position pattern (units counted from the file's start, 4 per
; 2048-byte sector). The image builder patches a boot information table into
; bytes 8-63: the primary volume descriptor's LBA (16), the file's LBA, its
; length and the sum of its dwords from byte 64 on.
; The program asks for the boot status (INT 13h AH=4Bh AL=01h: no emulation,
; this drive, the file's LBA, 4 sectors), compares it with the table, checks the
; extensions (AH=41h) and the sector size (AH=48h: 2048), reads with AH=42h the
; primary volume descriptor, the rest of its own file (the pattern), the whole
; file (the checksum of the table, and its first three sectors against the two
; stages in memory) and two sectors in the middle. Last line "PASS", exit value 0.

%define PROGRAM_NAME "cd-rom"
FILE_SECTORS  equ 16
FILE_BYTES    equ FILE_SECTORS * 2048
STAGE2_SECTORS equ 2           ; CD sectors of stage 2, after stage 1
DATA_SECTOR   equ 1 + STAGE2_SECTORS   ; the file's first pattern sector
STAGE2_MARKER equ 0x32454753   ; "SGE2", the last dword of stage 2
BUF_SEG       equ 0x1000
; Variables live below the program, so that the program in memory stays as on disk.
boot_drive    equ 0x0500        ; byte
boot_lba      equ 0x0504        ; dword, from AH=4Bh
spec_packet   equ 0x0520        ; 0x13 bytes, AH=4Bh result
params        equ 0x0540        ; 0x1e bytes, AH=48h result
dap           equ 0x0580        ; 16 bytes, AH=42h packet

%include "boot.inc"
USE_ROUTINES rm

bits 16
cpu 686
org 0x7c00
    jmp 0:start                 ; SeaBIOS enters at 07C0:0000
    times 8 - ($ - $$) db 0
info_pvd_lba:   dd 0
info_file_lba:  dd 0
info_length:    dd 0
info_checksum:  dd 0
    times 64 - ($ - $$) db 0

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov [boot_drive], dl
    call rm_serial_init
    PRINT 10, "boot test: ", PROGRAM_NAME, ", boot drive "
    movzx eax, dl
    PRINT_HEX eax, 2
    PRINT 10

    mov eax, [info_file_lba]    ; stage 2: the file's next sectors
    inc eax
    mov byte [dap], 0x10
    mov byte [dap + 1], 0
    mov word [dap + 2], STAGE2_SECTORS
    mov word [dap + 4], 0x8400
    mov word [dap + 6], 0
    mov [dap + 8], eax
    mov dword [dap + 12], 0
    mov ah, 0x42
    mov dl, [boot_drive]
    mov si, dap
    INT13 "stage 1: INT 13h AH=42h (loading stage 2)"
    cmp dword [0x8400 + STAGE2_SECTORS * 2048 - 4], STAGE2_MARKER
    je stage2
    FAIL "stage 1: stage 2 loaded without its end marker"

PASS_FAIL
BOOT_ROUTINES rm

%if ($ - $$) > 2048
%error stage 1 is larger than the 2048 bytes the BIOS loads
%endif
    times 2048 - ($ - $$) db 0

stage2:
    mov di, spec_packet         ; AH=4Bh AL=01h: status, emulation stays as it is
    mov cx, 0x13
    mov al, 0xcc
    rep stosb
    mov byte [spec_packet], 0x13
    mov ax, 0x4b01
    mov dl, [boot_drive]
    mov si, spec_packet
    INT13 "INT 13h AH=4Bh (boot status)"
    mov eax, [spec_packet + 4]
    mov [boot_lba], eax
    PRINT "int13 ah=4b status: size "
    movzx eax, byte [spec_packet]
    PRINT_HEX eax, 2
    PRINT " media "
    movzx eax, byte [spec_packet + 1]
    PRINT_HEX eax, 2
    PRINT " drive "
    movzx eax, byte [spec_packet + 2]
    PRINT_HEX eax, 2
    PRINT " lba "
    PRINT_DEC dword [boot_lba]
    PRINT " load segment "
    movzx eax, word [spec_packet + 0x0c]
    PRINT_HEX eax, 4
    PRINT " sectors "
    movzx eax, word [spec_packet + 0x0e]
    PRINT_DEC eax
    PRINT 10
    cmp byte [spec_packet], 0x13
    jne .bad_status
    test byte [spec_packet + 1], 0x0f   ; media type 0: no emulation
    jnz .bad_status
    mov al, [boot_drive]
    cmp [spec_packet + 2], al
    jne .bad_status
    cmp word [spec_packet + 0x0e], 4
    je .status_ok
.bad_status:
    FAIL "AH=4Bh status is not: 13h bytes, no emulation, this drive, 4 sectors"
.status_ok:

    PRINT "boot info table: pvd lba "
    PRINT_DEC dword [info_pvd_lba]
    PRINT " file lba "
    PRINT_DEC dword [info_file_lba]
    PRINT " length "
    PRINT_DEC dword [info_length]
    PRINT " checksum "
    PRINT_HEX dword [info_checksum], 8
    PRINT 10
    cmp dword [info_pvd_lba], 16
    jne .bad_table
    mov eax, [boot_lba]
    cmp [info_file_lba], eax
    jne .bad_table
    cmp dword [info_length], FILE_BYTES
    je .table_ok
.bad_table:
    FAIL "the boot info table does not match (pvd 16, file at the AH=4Bh lba, 32768 bytes)"
.table_ok:

    mov ah, 0x41
    mov bx, 0x55aa
    mov dl, [boot_drive]
    INT13 "INT 13h AH=41h (extensions)"
    PRINT "int13 ah=41 extensions: version "
    movzx eax, ah
    PRINT_HEX eax, 2
    PRINT " support "
    movzx eax, cx
    PRINT_HEX eax, 4
    PRINT 10
    cmp bx, 0xaa55
    jne .no_extensions
    test cx, 1
    jnz .extensions_ok
.no_extensions:
    FAIL "AH=41h does not report the packet functions"
.extensions_ok:

    mov word [params], 0x1e
    mov ah, 0x48
    mov dl, [boot_drive]
    mov si, params
    INT13 "INT 13h AH=48h (drive parameters)"
    PRINT "int13 ah=48 parameters: "
    movzx eax, word [params + 0x18]
    PRINT_DEC eax
    PRINT " bytes per sector", 10
    cmp word [params + 0x18], 2048
    je .params_ok
    FAIL "AH=48h sector size is not 2048"
.params_ok:

    mov eax, 16                 ; the primary volume descriptor
    mov cx, 1
    call read_sectors
    PRINT "volume descriptor at lba 16: "
    push ds
    mov ax, BUF_SEG
    mov ds, ax
    cmp dword [1], "CD00"
    jne .not_pvd
    cmp word [5], 0x0131        ; "1", version 1
    jne .not_pvd
    cmp byte [0], 1
.not_pvd:
    pop ds
    je .pvd_ok
    FAIL "not a primary volume descriptor"
.pvd_ok:
    PRINT "primary, volume "
    mov cx, 32                  ; the volume identifier, bytes 40-71
    mov esi, 40
.volume_char:
    push ds
    mov ax, BUF_SEG
    mov ds, ax
    mov al, [esi]
    pop ds
    cmp al, ' '
    je .volume_done
    call putc
    inc esi
    loop .volume_char
.volume_done:
    PRINT 10

    mov eax, [boot_lba]         ; the rest of the file: the pattern
    add eax, DATA_SECTOR
    mov cx, FILE_SECTORS - DATA_SECTOR
    call read_sectors
    mov eax, DATA_SECTOR * 4
    mov ecx, (FILE_SECTORS - DATA_SECTOR) * 4
    call check_buffer

    mov eax, [boot_lba]         ; the whole file: checksum and the two stages
    mov cx, FILE_SECTORS
    call read_sectors
    PRINT "checksum from byte 64 on: "
    push ds
    mov ax, BUF_SEG
    mov ds, ax
    xor edx, edx
    mov esi, 64
.sum:
    add edx, [esi]
    add esi, 4
    cmp esi, FILE_BYTES
    jb .sum
    pop ds
    PRINT_HEX edx, 8
    cmp edx, [info_checksum]
    je .checksum_ok
    PRINT 10
    FAIL "the checksum differs from the boot info table's"
.checksum_ok:
    PRINT " ok", 10
    PRINT "the two stages on disk = in memory: "
    push es
    mov ax, BUF_SEG
    mov es, ax
    xor di, di
    mov si, 0x7c00
    mov cx, DATA_SECTOR * 2048 / 4
    repe cmpsd
    pop es
    je .same
    PRINT 10
    FAIL "they differ"
.same:
    PRINT "ok", 10

    mov eax, [boot_lba]         ; two sectors from the middle
    add eax, 7
    mov cx, 2
    call read_sectors
    mov eax, 7 * 4
    mov ecx, 2 * 4
    call check_buffer
    jmp pass

; EAX = LBA, CX = count of 2048-byte sectors: AH=42h into BUF_SEG:0.
read_sectors:
    pushad
    push es
    mov dx, BUF_SEG             ; fill the buffer first, so a read that moves no data shows
    mov es, dx
    xor di, di
    push eax
    push cx
    mov eax, 0xcccccccc
    mov cx, 0x4000
    rep stosd
    pop cx
    pop eax
    pop es
    PRINT "int13 ah=42 read lba "
    PRINT_DEC eax
    PRINT " x"
    movzx edx, cx
    PRINT_DEC edx
    PRINT ": "
    mov byte [dap], 0x10
    mov byte [dap + 1], 0
    mov [dap + 2], cx
    mov word [dap + 4], 0
    mov word [dap + 6], BUF_SEG
    mov [dap + 8], eax
    mov dword [dap + 12], 0
    mov ah, 0x42
    mov dl, [boot_drive]
    mov si, dap
    INT13 "INT 13h AH=42h"
    cmp [dap + 2], cx
    je .count_ok
    FAIL "AH=42h reported a different sector count"
.count_ok:
    PRINT "ok", 10
    popad
    ret

; EAX first unit, ECX units: the pattern check of BUF_SEG:0.
check_buffer:
    push es
    push edi
    mov di, BUF_SEG
    mov es, di
    xor edi, edi
    PRINT "pattern of units "
    PRINT_DEC eax
    PRINT "-"
    push eax
    add eax, ecx
    dec eax
    PRINT_DEC eax
    pop eax
    PRINT ": "
    call check_pattern
    pop edi
    pop es
    jnc .ok
    FAIL "the data read is not what the image holds there"
.ok:
    PRINT "ok", 10
    ret

%if ($ - $$) > DATA_SECTOR * 2048 - 4
%error stage 2 is larger than STAGE2_SECTORS
%endif
    times DATA_SECTOR * 2048 - 4 - ($ - $$) db 0
    dd STAGE2_MARKER

; harddisk.asm: boot test for a hard disk (boot-hd.img: 16128 sectors, the
; geometry QEMU gives a disk without a partition table: 16 cylinders, 16 heads,
; 63 sectors per track).
;
; Run: qemu-system-i386 -nographic -device isa-debug-exit,iobase=0xf4,iosize=0x01
;          -drive file=boot-hd.img,format=raw
; The BIOS boots its master boot record from drive 80. It resets the drive
; (INT 13h AH=00h), reads the geometry (AH=08h), the disk type (AH=15h), the
; extensions (AH=41h) and the drive parameters (AH=48h: 16128 sectors of 512
; bytes), reads by CHS (AH=02h: a track's rest, a whole track on head 1, a read
; across the cylinder 0/1 boundary, a sector deep into the disk) and by LBA
; (AH=42h: 127 sectors at once, the last sector), checks each against the
; position pattern, and checks that a read at the first LBA past the end fails.
; Last line "PASS", exit value 0.

%define PROGRAM_NAME "hard disk"
STAGE2_SECTORS equ 8
FIRST_DATA_LBA equ 1 + STAGE2_SECTORS
DISK_SECTORS   equ 16 * 16 * 63

%include "boot.inc"
%include "disk.inc"
USE_ROUTINES rm

STAGE1

stage2:
    cmp byte [boot_drive], 0x80
    je .drive_ok
    FAIL "booted from a drive other than 80"
.drive_ok:
    xor ah, ah
    mov dl, [boot_drive]
    INT13 "INT 13h AH=00h (reset)"
    PRINT "int13 ah=00 reset: ok", 10

    call get_geometry
    cmp dword [geo_heads], 16
    jne .bad_geometry
    cmp dword [geo_sectors], 63
    jne .bad_geometry
    cmp dword [geo_cylinders], 15   ; the BIOS may keep the last cylinder back
    jae .geometry_ok
.bad_geometry:
    FAIL "AH=08h geometry is not (at least 15)/16/63"
.geometry_ok:

    mov ah, 0x15
    mov dl, [boot_drive]
    INT13 "INT 13h AH=15h (disk type)"
    movzx ebx, ah
    PRINT "int13 ah=15 disk type: "
    PRINT_HEX ebx, 2
    PRINT 10
    cmp bl, 0x03
    je .type_ok
    FAIL "AH=15h does not say fixed disk (03)"
.type_ok:

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
    test cx, 1                  ; bit 0: the packet functions (42h, 43h, 44h, 47h, 48h)
    jnz .extensions_ok
.no_extensions:
    FAIL "AH=41h does not report the packet functions"
.extensions_ok:

    mov word [params], params_size
    mov ah, 0x48
    mov dl, [boot_drive]
    mov si, params
    INT13 "INT 13h AH=48h (drive parameters)"
    PRINT "int13 ah=48 parameters: "
    PRINT_DEC dword [params.sectors]
    PRINT " sectors of "
    movzx eax, word [params.bytes_per_sector]
    PRINT_DEC eax
    PRINT " bytes, chs "
    PRINT_DEC dword [params.cylinders]
    PRINT "/"
    PRINT_DEC dword [params.heads]
    PRINT "/"
    PRINT_DEC dword [params.sectors_per_track]
    PRINT 10
    cmp dword [params.sectors], DISK_SECTORS
    jne .bad_params
    cmp dword [params.sectors + 4], 0
    jne .bad_params
    cmp word [params.bytes_per_sector], 512
    je .params_ok
.bad_params:
    FAIL "AH=48h does not report 16128 sectors of 512 bytes"
.params_ok:

    mov eax, FIRST_DATA_LBA     ; head 0: the rest of the first track
    mov ecx, 63 - FIRST_DATA_LBA
    call chs_read_check
    mov eax, 63                 ; head 1: the whole track
    mov ecx, 63
    call chs_read_check
    mov eax, 1000               ; cylinder 0 head 15 into cylinder 1 head 0
    mov ecx, 16
    call chs_read_check
    mov eax, 14 * 1008 + 5 * 63 + 9
    mov ecx, 3
    call chs_read_check

    mov eax, FIRST_DATA_LBA
    mov ecx, 1
    call ext_read_check
    mov eax, 2000               ; 127 sectors: 65024 bytes in one call
    mov ecx, 127
    call ext_read_check
    mov eax, DISK_SECTORS - 1   ; the last sector
    mov ecx, 1
    call ext_read_check

    PRINT "int13 ah=42 read lba "
    PRINT_DEC DISK_SECTORS
    PRINT " (past the end): "
    mov dword [dap.lba], DISK_SECTORS
    mov word [dap.count], 1
    mov ah, 0x42
    mov dl, [boot_drive]
    mov si, dap
    int 0x13
    jc .past_end_fails
    FAIL "the read succeeded"
.past_end_fails:
    PRINT "fails, AH="
    shr ax, 8
    movzx eax, ax
    PRINT_HEX eax, 2
    PRINT 10
    jmp pass

; The AH=48h result buffer (its first word is the caller's buffer size).
params:
.size:              dw 0
.flags:             dw 0
.cylinders:         dd 0
.heads:             dd 0
.sectors_per_track: dd 0
.sectors:           dd 0, 0
.bytes_per_sector:  dw 0
.dpte:              dd 0
params_size equ $ - params

DISK_HELPERS
STAGE2_END

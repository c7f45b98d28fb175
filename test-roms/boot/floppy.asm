; floppy.asm: boot test for a 1.44 MB floppy (boot-fd.img, 2880 sectors).
;
; Run: qemu-system-i386 -nographic -device isa-debug-exit,iobase=0xf4,iosize=0x01
;          -drive file=boot-fd.img,if=floppy,format=raw
; The BIOS boots it from drive 00. It resets the drive (INT 13h AH=00h), reads
; the geometry (AH=08h: 80 cylinders, 2 heads, 18 sectors, drive type 04) and
; reads sectors by CHS (AH=02h): the rest of the first track, a whole track on
; head 1, the first sector of cylinder 1, one in the middle and the last track,
; checking each against the position pattern, then the status of the last
; operation (AH=01h, 00). Last line "PASS", exit value 0.

%define PROGRAM_NAME "floppy"
STAGE2_SECTORS equ 6
FIRST_DATA_LBA equ 1 + STAGE2_SECTORS

%include "boot.inc"
%include "disk.inc"

USE_ROUTINES rm

STAGE1

stage2:
    cmp byte [boot_drive], 0x00
    je .drive_ok
    FAIL "booted from drive other than 00"
.drive_ok:
    xor ah, ah
    mov dl, [boot_drive]
    INT13 "INT 13h AH=00h (reset)"
    PRINT "int13 ah=00 reset: ok", 10
    call get_geometry
    cmp dword [geo_cylinders], 80
    jne .bad_geometry
    cmp dword [geo_heads], 2
    jne .bad_geometry
    cmp dword [geo_sectors], 18
    je .geometry_ok
.bad_geometry:
    FAIL "AH=08h geometry is not 80/2/18"
.geometry_ok:
    mov eax, FIRST_DATA_LBA     ; cylinder 0, head 0, up to the end of the track
    mov ecx, 18 - FIRST_DATA_LBA
    call chs_read_check
    mov eax, 18                 ; cylinder 0, head 1, the whole track
    mov ecx, 18
    call chs_read_check
    mov eax, 36                 ; cylinder 1, head 0, sector 1
    mov ecx, 1
    call chs_read_check
    mov eax, 1439               ; cylinder 39, head 1, sector 18
    mov ecx, 1
    call chs_read_check
    mov eax, 2862               ; cylinder 79, head 1: the last track
    mov ecx, 18
    call chs_read_check
    mov ah, 0x01
    mov dl, [boot_drive]
    int 0x13
    movzx ebx, ah
    PRINT "int13 ah=01 status: "
    PRINT_HEX ebx, 2
    PRINT 10
    test bl, bl
    jz pass
    FAIL "AH=01h status after successful reads is not 00"

DISK_HELPERS
STAGE2_END

; hdwrite.asm: a hard disk that counts its boots on itself (boot-hd-write.img:
; 2016 sectors, 2 cylinders of 16 heads and 63 sectors), for the test that writes
; reach the image without -snapshot and do not with it.
;
; Run twice: qemu-system-i386 -nographic -device isa-debug-exit,iobase=0xf4,iosize=0x01
;                -drive file=boot-hd-write.img,format=raw   [-snapshot]
; Two sectors hold a record of the boots so far: LBA 100, read with INT 13h
; AH=02h and written with AH=03h (CHS), and LBA 200, read with AH=42h and written
; with AH=43h. A sector that still holds the position pattern (as built) counts
; as 0 boots. Each boot prints
;     write test: boots recorded before this one: N
; writes N+1 to both sectors, reads them back and prints
;     write test: wrote N+1 with ah=03 (lba 100) and ah=43 (lba 200), read back: ok
; then "PASS" (exit value 0). A record that is damaged, or two that disagree, fail.
; So the second boot says 1 without -snapshot and 0 with it.
;
; A record: "VEMU WRITE TEST" and a zero byte, the boot count (dword), its own
; LBA (dword), then dwords 6-127 = the pattern dword for that position XOR the
; count, so that a sector written only in part shows.

%define PROGRAM_NAME "hard disk write test"
STAGE2_SECTORS equ 8
CHS_RECORD_LBA equ 100
EXT_RECORD_LBA equ 200

%include "boot.inc"
%include "disk.inc"
USE_ROUTINES rm

STAGE1

stage2:
    xor ah, ah
    mov dl, [boot_drive]
    INT13 "INT 13h AH=00h (reset)"
    call get_geometry

    mov eax, CHS_RECORD_LBA     ; what the earlier boots left
    call chs_read_record
    call evaluate_record
    mov esi, ecx
    mov eax, EXT_RECORD_LBA
    call ext_read_record
    call evaluate_record
    cmp ecx, esi
    je .agree
    FAIL "the records at lba 100 and lba 200 disagree"
.agree:
    PRINT "write test: boots recorded before this one: "
    PRINT_DEC ecx
    PRINT 10

    inc ecx                     ; this boot
    mov eax, CHS_RECORD_LBA
    call make_record
    mov bh, 0x03
    call chs_transfer
    mov eax, EXT_RECORD_LBA
    call make_record
    mov bh, 0x43
    call ext_transfer

    mov esi, ecx                ; read both back
    mov eax, CHS_RECORD_LBA
    call chs_read_record
    call evaluate_record
    cmp ecx, esi
    jne .not_written
    mov eax, EXT_RECORD_LBA
    call ext_read_record
    call evaluate_record
    cmp ecx, esi
    je .written
.not_written:
    FAIL "a record read back does not hold the count just written"
.written:
    PRINT "write test: wrote "
    PRINT_DEC ecx
    PRINT " with ah=03 (lba 100) and ah=43 (lba 200), read back: ok", 10
    jmp pass

; EAX = LBA: the sector into BUF_SEG:0 by CHS (AH=02h) / LBA (AH=42h).
chs_read_record:
    call clear_buffer
    push ebx
    mov bh, 0x02
    call chs_transfer
    pop ebx
    ret

ext_read_record:
    call clear_buffer
    push ebx
    mov bh, 0x42
    call ext_transfer
    pop ebx
    ret

; EAX = LBA, BH = 02h (read) or 03h (write): one sector at BUF_SEG:0 by CHS.
chs_transfer:
    pushad
    push es
    PRINT "int13 ah="
    movzx edx, bh
    PRINT_HEX edx, 2
    PRINT " lba "
    PRINT_DEC eax
    call lba_to_chs
    PRINT ": "
    mov ax, BUF_SEG
    mov es, ax
    mov ah, bh
    mov al, 1
    xor bx, bx
    INT13 "INT 13h AH=02h/03h"
    PRINT "ok", 10
    pop es
    popad
    ret

; EAX = LBA, BH = 42h (read) or 43h (write, AL=0: no verify): one sector at
; BUF_SEG:0 through the DAP.
ext_transfer:
    pushad
    PRINT "int13 ah="
    movzx edx, bh
    PRINT_HEX edx, 2
    PRINT " lba "
    PRINT_DEC eax
    PRINT ": "
    mov [dap.lba], eax
    mov word [dap.count], 1
    mov word [dap.offset], 0
    mov word [dap.segment], BUF_SEG
    mov ah, bh
    xor al, al
    mov dl, [boot_drive]
    mov si, dap
    INT13 "INT 13h AH=42h/43h"
    PRINT "ok", 10
    popad
    ret

; EAX = LBA, ECX = count: the record at BUF_SEG:0.
make_record:
    pushad
    push es
    mov dx, BUF_SEG
    mov es, dx
    xor edi, edi
    mov esi, signature
.signature:
    mov dl, [esi]
    mov [es:edi], dl
    inc esi
    inc edi
    cmp edi, 16
    jb .signature
    mov [es:16], ecx
    mov [es:20], eax
    mov edi, 24
.fill:
    call record_fill
    mov [es:edi], edx
    add edi, 4
    cmp edi, 512
    jb .fill
    pop es
    popad
    ret

; EAX = LBA, ECX = count, EDI = byte offset: EDX = the record's dword there.
record_fill:
    push eax
    shl eax, 7
    mov edx, edi
    shr edx, 2
    add eax, edx
    imul edx, eax, PATTERN_MUL
    xor edx, PATTERN_XOR
    xor edx, ecx
    pop eax
    ret

; EAX = LBA of the sector at BUF_SEG:0: ECX = the boot count it records (0 for the
; pattern the image was built with); fails if it is neither.
evaluate_record:
    push es
    push esi
    push edi
    push edx
    mov dx, BUF_SEG
    mov es, dx
    xor edi, edi
    mov esi, signature
.signature:
    mov dl, [esi]
    cmp [es:edi], dl
    jne .not_record
    inc esi
    inc edi
    cmp edi, 16
    jb .signature
    cmp [es:20], eax
    jne .damaged
    mov ecx, [es:16]
    mov edi, 24
.fill:
    call record_fill
    cmp [es:edi], edx
    jne .damaged
    add edi, 4
    cmp edi, 512
    jb .fill
    jmp .done
.not_record:
    xor edi, edi
    push ecx
    mov ecx, 1
    call check_pattern
    pop ecx
    jc .damaged
    xor ecx, ecx
.done:
    pop edx
    pop edi
    pop esi
    pop es
    ret
.damaged:
    FAIL "the sector at that lba is neither the pattern nor a whole record"

signature: db "VEMU WRITE TEST", 0

DISK_HELPERS
STAGE2_END

; diskio.asm: disk throughput. Reads or writes 64 MiB (times SCALE) of the IDE
; primary master, 128 KiB per command, by PIO (READ/WRITE SECTORS, REP INSD/
; OUTSD a sector at a time) or by bus-master DMA (READ/WRITE DMA through a
; two-entry PRD table; the ROM places the controller's bus-master BAR itself,
; as firmware would), with interrupts off at the CPU, polling the status (the
; bus master's interrupt bit for DMA: it follows the drive's INTRQ, so nIEN
; stays clear).
; MODE: 0 nothing (the baseline run), 1 PIO read, 2 PIO write, 3 DMA read,
; 4 DMA write. It prints PASS when every command ended without an error.
%include "rom.inc"
%ifndef SCALE
%define SCALE 1
%endif
%ifndef MODE
%define MODE 1
%endif

SECTORS     equ 131072 * SCALE      ; 64 MiB per SCALE
PER_CMD     equ 256                 ; sectors per command (a count of 0)
BUFFER      equ 0x100000            ; 128 KiB of RAM the data goes through
PRD_TABLE   equ 0x10000
BM_BASE     equ 0xc000              ; where this ROM puts the bus-master registers
IDE_CONFIG  equ 0x80000000 | (1 << 11) | (1 << 8)   ; PCI 00:01.1

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
%if MODE >= 3
    ; BAR 4 at BM_BASE, I/O decoding and bus mastering on.
    mov dx, 0xcf8
    mov eax, IDE_CONFIG | 0x20
    out dx, eax
    mov dx, 0xcfc
    mov eax, BM_BASE
    out dx, eax
    mov dx, 0xcf8
    mov eax, IDE_CONFIG | 0x04
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    or eax, 0x05
    out dx, eax
    ; Two PRD entries of 64 KiB (a count of 0), the second the last.
    mov dword [PRD_TABLE], BUFFER
    mov dword [PRD_TABLE + 4], 0
    mov dword [PRD_TABLE + 8], BUFFER + 0x10000
    mov dword [PRD_TABLE + 12], 0x80000000
%endif
%if MODE == 2 || MODE == 4
    ; Something to write.
    mov edi, BUFFER
    mov ecx, PER_CMD * 128
    mov eax, 0x5a5aa5a5
    rep stosd
%endif
    xor ebx, ebx                    ; LBA
.command:
%if MODE == 0
    jmp .done
%else
    call wait_not_busy
    mov dx, 0x1f2
    xor al, al                      ; 256 sectors
    out dx, al
    mov eax, ebx
    inc dx                          ; 0x1f3: LBA 7:0
    out dx, al
    shr eax, 8
    inc dx                          ; 0x1f4: LBA 15:8
    out dx, al
    shr eax, 8
    inc dx                          ; 0x1f5: LBA 23:16
    out dx, al
    shr eax, 8
    and al, 0x0f
    or al, 0xe0                     ; LBA, master
    inc dx                          ; 0x1f6
    out dx, al
%if MODE <= 2
    mov al, MODE == 1 ? 0x20 : 0x30 ; READ SECTORS / WRITE SECTORS
    inc dx                          ; 0x1f7
    out dx, al
    mov ebp, PER_CMD
.sector:
    call wait_drq
    mov esi, BUFFER
    mov edi, BUFFER
    mov ecx, 128
    mov dx, 0x1f0
%if MODE == 1
    rep insd
%else
    rep outsd
%endif
    dec ebp
    jnz .sector
    call wait_not_busy
%else
    mov dx, BM_BASE
    xor al, al
    out dx, al                      ; engine stopped
    add dx, 2
    mov al, 0x06
    out dx, al                      ; interrupt and error bits cleared
    add dx, 2
    mov eax, PRD_TABLE
    out dx, eax
    mov dx, 0x1f7
    mov al, MODE == 3 ? 0xc8 : 0xca ; READ DMA / WRITE DMA
    out dx, al
    mov dx, BM_BASE
    mov al, MODE == 3 ? 0x09 : 0x01 ; start; to memory for a read
    out dx, al
    add dx, 2
.dma:
    in al, dx
    test al, 0x04                   ; interrupt: the command ended
    jz .dma
    test al, 0x02
    jnz .failed
    mov dx, BM_BASE
    xor al, al
    out dx, al
    call wait_not_busy
%endif
    mov dx, 0x1f7
    in al, dx
    test al, 0x01                   ; ERR
    jnz .failed
    add ebx, PER_CMD
    cmp ebx, SECTORS
    jb .command
%endif
.done:
    PASS
.failed:
    FAIL "the drive reported an error"

wait_not_busy:
    mov dx, 0x1f7
.w: in al, dx
    test al, 0x80
    jnz .w
    ret

wait_drq:
    mov dx, 0x1f7
.w: in al, dx
    test al, 0x80
    jnz .w
    test al, 0x08
    jz .w
    ret

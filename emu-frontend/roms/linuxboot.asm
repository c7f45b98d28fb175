; vemu's Linux loader option ROM: boots the kernel given with -kernel
; (bzImage), its initrd and command line, as QEMU's linuxboot ROM does.
;
; The machine puts the kernel's parts in fw_cfg (the setup sectors with the
; header already filled in, the protected-mode kernel, the initrd, the command
; line, and where each goes) and this ROM in fw_cfg's genroms/ with a
; bootorder entry naming it first. SeaBIOS runs it as a boot entry vector
; (BEV) once POST is over: it copies each part to its place with fw_cfg DMA,
; moves the initrd below the top of memory the BIOS reports (int 15h E801,
; which leaves out what SeaBIOS keeps for its tables), and enters the kernel's
; real-mode setup code as the boot protocol says: DS=ES=FS=GS=SS = the setup
; segment, CS = that + 0x20, IP = 0, the stack below the command line.
;
; Build: nasm -f bin -o linuxboot.bin linuxboot.asm (emu-frontend's tests
; check the committed linuxboot.bin is what this source assembles to; vemu
; sets the last byte, the checksum, when it loads the ROM).

bits 16
org 0
cpu 486

FW_CFG_SELECTOR equ 0x510
FW_CFG_DATA     equ 0x511
FW_CFG_DMA_HIGH equ 0x514
FW_CFG_DMA_LOW  equ 0x518

KERNEL_ADDR     equ 0x07
KERNEL_SIZE     equ 0x08
INITRD_ADDR     equ 0x0a
INITRD_SIZE     equ 0x0b
KERNEL_DATA     equ 0x11
INITRD_DATA     equ 0x12
CMDLINE_ADDR    equ 0x13
CMDLINE_SIZE    equ 0x14
CMDLINE_DATA    equ 0x15
SETUP_ADDR      equ 0x16
SETUP_SIZE      equ 0x17
SETUP_DATA      equ 0x18

DMA_SELECT_READ equ 0x0a

; Setup header fields (offsets into the setup segment).
HDR_VERSION     equ 0x206
HDR_RAMDISK     equ 0x218
HDR_INITRD_MAX  equ 0x22c

start:
    dw 0xaa55
    db (rom_end - start) / 512
    retf                        ; initialisation: nothing to do
    times 0x18 - ($ - $$) db 0
    dw 0                        ; no PCI data structure
    dw pnp

pnp:
    db '$PnP'
    db 1                        ; structure revision
    db (pnp_end - pnp) / 16     ; length in 16-byte units
    dw 0                        ; next header
    db 0                        ; reserved
    db 0                        ; checksum
    dd 0                        ; device identifier
    dw manufacturer
    dw product
    dd 0                        ; device type, indicators
    dw 0                        ; boot connection vector
    dw 0                        ; disconnect vector
    dw bev                      ; bootstrap entry vector
    dw 0                        ; reserved
    dw 0                        ; static resource information vector
pnp_end:

; Locals, below BP.
%define setup_addr  dword [bp - 4]
%define initrd_addr dword [bp - 8]
%define initrd_size dword [bp - 12]
%define cmdline_addr dword [bp - 16]

bev:
    mov bp, sp
    sub sp, 16
    push cs
    pop ds

    mov bx, SETUP_ADDR
    call read_u32
    mov setup_addr, eax
    mov edi, eax
    mov bx, SETUP_SIZE
    call read_u32
    mov ecx, eax
    mov bx, SETUP_DATA
    call dma_read

    mov eax, setup_addr
    shr eax, 4
    mov es, ax
    ; Before protocol 2.03 the header has no initrd limit: the boot
    ; protocol's default.
    cmp word [es:HDR_VERSION], 0x203
    jae .have_max
    mov dword [es:HDR_INITRD_MAX], 0x37ffffff
.have_max:

    mov bx, INITRD_ADDR
    call read_u32
    mov initrd_addr, eax
    mov bx, INITRD_SIZE
    call read_u32
    mov initrd_size, eax
    ; The machine put the initrd at the top of the RAM it has; unless the
    ; kernel's own limit is below that, move it under what the BIOS leaves
    ; free up there.
    mov eax, initrd_addr
    add eax, initrd_size
    and eax, ~0xfff
    jz .place_initrd
    mov edx, [es:HDR_INITRD_MAX]
    and edx, ~0xfff
    jz .place_initrd
    cmp eax, edx
    je .place_initrd
    call e801_top
    sub eax, initrd_size
    and eax, ~0xfff
    mov initrd_addr, eax
    mov [es:HDR_RAMDISK], eax
.place_initrd:
    mov edi, initrd_addr
    mov ecx, initrd_size
    mov bx, INITRD_DATA
    call dma_read

    mov bx, KERNEL_ADDR
    call read_u32
    mov edi, eax
    mov bx, KERNEL_SIZE
    call read_u32
    mov ecx, eax
    mov bx, KERNEL_DATA
    call dma_read

    mov bx, CMDLINE_ADDR
    call read_u32
    mov cmdline_addr, eax
    mov edi, eax
    mov bx, CMDLINE_SIZE
    call read_u32
    mov ecx, eax
    mov bx, CMDLINE_DATA
    call dma_read

    ; Enter the setup code.
    mov ebx, cmdline_addr
    sub ebx, setup_addr
    sub ebx, 16
    mov eax, setup_addr
    shr eax, 4
    cli
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, ebx
    add ax, 0x20
    push ax
    push word 0
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor edi, edi
    xor ebp, ebp
    sti
    retf

; EAX = the 32-bit item BX, through the byte port.
read_u32:
    mov ax, bx
    mov dx, FW_CFG_SELECTOR
    out dx, ax
    mov dx, FW_CFG_DATA
    mov cx, 4
.byte:
    in al, dx
    ror eax, 8
    loop .byte
    ret

; Copies ECX bytes of item BX to physical address EDI by fw_cfg DMA, with
; the descriptor on the stack.
dma_read:
    push bp
    mov bp, sp
    sub sp, 16
    and sp, ~7
    mov si, sp
    movzx eax, bx
    shl eax, 16
    or eax, DMA_SELECT_READ
    bswap eax
    mov [ss:si], eax
    mov eax, ecx
    bswap eax
    mov [ss:si + 4], eax
    mov dword [ss:si + 8], 0
    mov eax, edi
    bswap eax
    mov [ss:si + 12], eax
    xor eax, eax
    mov dx, FW_CFG_DMA_HIGH
    out dx, eax
    mov ax, ss
    shl eax, 4
    movzx edx, si
    add eax, edx
    bswap eax
    mov dx, FW_CFG_DMA_LOW
    out dx, eax
.wait:
    ; Done when the control word is zero but for the error bit.
    test dword [ss:si], 0xfeffffff
    jnz .wait
    mov sp, bp
    pop bp
    ret

; EAX = the top of the memory the BIOS reports free (int 15h AX=E801).
e801_top:
    push es
    mov ax, 0xe801
    xor bx, bx
    xor cx, cx
    xor dx, dx
    int 0x15
    pop es
    ; CX/DX are the configured memory; a BIOS may leave them zero.
    test cx, cx
    jnz .have
    test dx, dx
    jnz .have
    mov cx, ax
    mov dx, bx
.have:
    test dx, dx
    jz .below_16m
    movzx eax, dx
    shl eax, 16
    add eax, 16 << 20
    ret
.below_16m:
    movzx eax, cx
    shl eax, 10
    add eax, 1 << 20
    ret

manufacturer:
    db 'vemu', 0
product:
    db 'Linux loader', 0
    align 512, db 0             ; (vemu sets the last byte: the checksum)
rom_end:

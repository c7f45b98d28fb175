; drawbench.asm: the display benchmark's guest (boot-drawbench.img, a 1.44 MB
; floppy); benches/src/bin/display-bench.rs runs it.
;
; It draws continuously: FRAMES13 full frames in mode 13h (320x200, each pixel
; a function of its place and the frame number, through the chain-4 window),
; then FRAMES32 full frames in a VBE mode of 640x480 at 32 bits per pixel in
; the linear framebuffer (big real mode), then "PASS" (exit value 0). The same
; instructions every run, so its guest MIPS compare runs with and without
; viewers of the screen.

%define PROGRAM_NAME "drawbench"
STAGE2_SECTORS equ 4
FRAMES13 equ 40
FRAMES32 equ 6

%include "boot.inc"
%include "disk.inc"

USE_ROUTINES rm

STAGE1

stage2:
    ; ---- mode 13h
    mov ax, 0x0013
    int 0x10
    push word 0xa000
    pop es
    xor bp, bp                  ; frame
.frame13:
    xor di, di
    xor cx, cx                  ; y
.row13:
    mov ax, cx
    add ax, bp
    mov bx, 320
.px13:
    stosb
    inc al
    dec bx
    jnz .px13
    inc cx
    cmp cx, 200
    jb .row13
    inc bp
    cmp bp, FRAMES13
    jb .frame13

    ; ---- VBE 640x480x32, linear framebuffer (mode from the VBE list)
    call enter_unreal
    push word 0x1000
    pop es
    mov dword [es:0], 'VBE2'
    xor di, di
    mov ax, 0x4f00
    int 0x10
    cmp ax, 0x004f
    je .vbe_info
    FAIL "VBE 4F00h failed"
.vbe_info:
    lgs si, [es:14]
.mode:
    mov cx, [gs:si]
    cmp cx, 0xffff
    jne .query
    FAIL "no 640x480x32 VBE mode"
.query:
    add si, 2
    mov di, 0x200
    mov ax, 0x4f01
    push cx
    int 0x10
    pop cx
    cmp word [es:0x212], 640
    jne .mode
    cmp word [es:0x214], 480
    jne .mode
    cmp byte [es:0x219], 32
    jne .mode
    mov esi, [es:0x228]         ; the framebuffer
    mov bx, cx
    or bx, 0x4000
    mov ax, 0x4f02
    int 0x10
    cmp ax, 0x004f
    je .vbe_set
    FAIL "VBE 4F02h failed"
.vbe_set:
    call enter_unreal
    xor ebp, ebp                ; frame
.frame32:
    mov edi, esi
    mov ecx, 640 * 480
    mov eax, ebp
    imul eax, eax, 0x010203
.px32:
    mov [fs:edi], eax
    add eax, 0x00010101
    add edi, 4
    dec ecx
    jnz .px32
    inc ebp
    cmp ebp, FRAMES32
    jb .frame32
    mov ax, 0x0003
    int 0x10
    jmp pass

UNREAL_FS

STAGE2_END

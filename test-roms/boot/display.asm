; display.asm: the display test program (boot-display.img, a 1.44 MB floppy).
;
; Run: qemu-system-i386 -display none -serial stdio -qmp unix:q.sock,server=on,wait=off
;          -device isa-debug-exit,iobase=0xf4,iosize=0x01
;          -drive file=boot-display.img,if=floppy,format=raw
; (vemu run takes the same options but -device). scripts/display-test.py drives it.
;
; It sets video modes through the VGA BIOS (INT 10h) and draws known pictures,
; each through the adapter's own ways of writing: text and its font, the planar
; 16-colour write modes with set/reset, bit mask, rotate and logical operations
; (modes 12h and 0Dh), the CGA modes 4 and 6 with their interleaved rows,
; chain-4 mode 13h with its own palette, unchained "mode X" with the map mask,
; and VBE modes found through the VBE mode list (32, 24, 16 and 15 bits per
; pixel in the linear framebuffer, written in big real mode; 8 bits per pixel
; through the banked window). After each picture it prints "SCENE name" on COM1 and waits
; for a key (INT 16h), so the driver can take a screendump and go on. Then it
; prints "ECHO" and, for every key it reads until Esc, "KEY xxxx" (INT 16h
; AH=00h's AX: scan code and character); Esc ends it with "PASS" (exit value 0).
; A BIOS call that fails prints "FAIL: ..." (exit value 1).
;
; The pictures avoid what QEMU 7.2 draws unlike a real VGA (see
; scripts/display-test.py): no blinking attributes, no characters 0xB0-0xBF,
; no cursor.

%define PROGRAM_NAME "display"
STAGE2_SECTORS equ 12

%include "boot.inc"
%include "disk.inc"

USE_ROUTINES rm

STAGE1

BUF_SEG     equ 0x1000              ; VBE info and mode info buffers
VBE_INFO    equ 0x0000
MODE_INFO   equ 0x0200

%macro SCENE 1
    PRINT "SCENE ", %1, 10
    call wait_key
%endmacro

stage2:
    call enter_unreal

    ; ---- 80x25 text: every printable ASCII character and the line-drawing
    ; characters 0xC0-0xDF (9th column repeated), in 128 attributes.
    mov ax, 0x0003
    int 0x10
    call cursor_off
    push word 0xb800
    pop es
    xor di, di
    xor bx, bx
.text_cell:
    mov ax, bx
    xor dx, dx
    mov cx, 95
    div cx
    mov al, dl
    add al, 0x20
    cmp bx, 1600
    jb .text_char
    mov al, bl
    and al, 0x1f
    or al, 0xc0
.text_char:
    mov ah, bl
    shr ah, 3
    xor ah, bl
    and ah, 0x7f
    stosw
    inc bx
    cmp bx, 2000
    jb .text_cell
    SCENE "text80"

    ; ---- 40x25 text (dot clock halved), written through the BIOS.
    mov ax, 0x0001
    int 0x10
    call cursor_off
    mov si, msg_forty
    mov bl, 0x1e
    mov dh, 3
    call bios_text
    mov bl, 0x4f
    mov dh, 12
    call bios_text
    SCENE "text40"

    ; ---- 80x50 text: mode 3 with the 8x8 font (INT 10h AX=1112h).
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1112
    xor bl, bl
    int 0x10
    call cursor_off
    mov si, msg_fifty
    mov bl, 0x2f
    mov dh, 45
    call bios_text
    mov bl, 0x71
    mov dh, 20
    call bios_text
    SCENE "text50"

    ; ---- 640x480x16 (mode 12h): planar write modes.
    mov ax, 0x0012
    int 0x10
    ; DAC entry 1 to orange, through the BIOS.
    mov ax, 0x1010
    mov bx, 1
    mov dh, 63
    mov ch, 32
    mov cl, 0
    int 0x10
    push word 0xa000
    pop es
    ; Write mode 2: 16 vertical bars of 40 pixels.
    mov dx, 0x3ce
    mov ax, 0x0205
    out dx, ax
    mov ax, 0xff08
    out dx, ax
    xor di, di
    xor cx, cx                  ; row
.bars_row:
    xor bx, bx                  ; byte in the row
.bars_byte:
    mov ax, bx
    mov bp, 5
    xor dx, dx
    div bp
    mov ah, [es:di]             ; latch (not needed with a full bit mask)
    mov [es:di], al
    inc di
    inc bx
    cmp bx, 80
    jb .bars_byte
    inc cx
    cmp cx, 480
    jb .bars_row
    ; Write mode 0 with set/reset to white on every plane, one bit at a time
    ; through the bit mask: a diagonal line.
    mov dx, 0x3ce
    mov ax, 0x0005
    out dx, ax
    mov ax, 0x0f00
    out dx, ax
    mov ax, 0x0f01
    out dx, ax
    xor cx, cx
.diagonal:
    mov ax, cx
    add ax, 100                 ; x = y + 100
    mov bx, ax
    shr bx, 3
    mov si, cx
    imul si, si, 80
    add si, bx
    and al, 7
    mov ah, 0x80
    xchg cl, al
    shr ah, cl
    xchg cl, al
    mov al, 0x08
    mov dx, 0x3ce
    out dx, ax
    mov al, [es:si]
    mov [es:si], al
    inc cx
    cmp cx, 300
    jb .diagonal
    ; XOR with colour 0x0a, rotated data, on a rectangle.
    mov ax, 0x0a00
    out dx, ax
    mov ax, 0x1803              ; XOR, no rotation
    out dx, ax
    mov ax, 0xff08
    out dx, ax
    mov cx, 300
.xor_row:
    mov si, cx
    imul si, si, 80
    add si, 20
    mov bx, 40
.xor_byte:
    mov al, [es:si]
    mov [es:si], al
    inc si
    dec bx
    jnz .xor_byte
    inc cx
    cmp cx, 340
    jb .xor_row
    ; Write mode 3 with rotate: colour 12 through the rotated data as mask.
    mov ax, 0x0c00
    out dx, ax
    mov ax, 0x0003              ; replace, rotate 0
    out dx, ax
    mov ax, 0x0305
    out dx, ax
    mov ax, 0x0203              ; rotate right by 2
    out dx, ax
    mov cx, 400
.wm3_row:
    mov si, cx
    imul si, si, 80
    add si, 10
    mov bx, 60
.wm3_byte:
    mov al, [es:si]
    mov byte [es:si], 0x0f      ; rotated: 0xc3
    inc si
    dec bx
    jnz .wm3_byte
    inc cx
    cmp cx, 420
    jb .wm3_row
    ; Back to the BIOS's settings.
    mov ax, 0x0000
    out dx, ax
    mov ax, 0x0001
    out dx, ax
    mov ax, 0x0003
    out dx, ax
    mov ax, 0x0005
    out dx, ax
    mov ax, 0xff08
    out dx, ax
    SCENE "mode12"

    ; ---- CGA 320x200x4 (mode 4): even rows at B800:0000, odd at B800:2000,
    ; four pixels a byte.
    mov ax, 0x0004
    int 0x10
    mov bp, 0                   ; bits: 2 per pixel
    call cga_pattern
    SCENE "cga4"

    ; ---- CGA 640x200x2 (mode 6): the same layout, eight pixels a byte.
    mov ax, 0x0006
    int 0x10
    mov bp, 1
    call cga_pattern
    SCENE "cga2"

    ; ---- EGA 320x200x16 (mode 0Dh): planar, write mode 2, 40 bytes a row.
    mov ax, 0x000d
    int 0x10
    push word 0xa000
    pop es
    mov dx, 0x3ce
    mov ax, 0x0205
    out dx, ax
    mov ax, 0xff08
    out dx, ax
    xor di, di
    xor cx, cx                  ; y
.ega_row:
    xor bx, bx                  ; byte
.ega_byte:
    mov ax, cx
    shr ax, 3
    add ax, bx
    and al, 15
    mov ah, [es:di]
    mov [es:di], al
    inc di
    inc bx
    cmp bx, 40
    jb .ega_byte
    inc cx
    cmp cx, 200
    jb .ega_row
    mov ax, 0x0005
    out dx, ax
    SCENE "mode0d"

    ; ---- 320x200x256 (mode 13h): a palette of our own and a pattern.
    mov ax, 0x0013
    int 0x10
    call load_palette
    push word 0xa000
    pop es
    xor di, di
    xor cx, cx                  ; y
.m13_row:
    xor bx, bx                  ; x
.m13_px:
    mov ax, cx
    shl ax, 1
    add ax, bx
    stosb
    inc bx
    cmp bx, 320
    jb .m13_px
    inc cx
    cmp cx, 200
    jb .m13_row
    SCENE "mode13"

    ; ---- Mode X: mode 13h unchained (map mask selects the plane).
    mov dx, 0x3c4
    mov ax, 0x0604              ; memory mode: chain 4 and odd/even off
    out dx, ax
    mov dx, 0x3d4
    mov ax, 0x0014              ; underline location: doubleword mode off
    out dx, ax
    mov ax, 0xe317              ; mode control: byte mode
    out dx, ax
    push word 0xa000
    pop es
    xor bp, bp                  ; plane
.mx_plane:
    mov dx, 0x3c4
    mov ah, 1
    mov cx, bp
    shl ah, cl
    mov al, 2
    out dx, ax
    xor di, di
    xor cx, cx                  ; y
.mx_row:
    xor bx, bx                  ; x / 4
.mx_px:
    mov ax, bx
    shl ax, 2
    add ax, bp                  ; x
    xor al, cl
    add al, cl
    stosb
    inc bx
    cmp bx, 80
    jb .mx_px
    inc cx
    cmp cx, 200
    jb .mx_row
    inc bp
    cmp bp, 4
    jb .mx_plane
    SCENE "modex"

    ; ---- VBE 640x480, 32 bits per pixel, linear framebuffer.
    mov cx, 640
    mov dx, 480
    mov bl, 32
    call set_vbe_lfb
    xor ecx, ecx                ; y
.v32_row:
    xor ebx, ebx                ; x
.v32_px:
    mov eax, ebx
    and eax, 0xff
    shl eax, 16                 ; red = x
    mov edx, ecx
    and edx, 0xff
    shl edx, 8                  ; green = y
    or eax, edx
    mov edx, ebx
    add edx, ecx
    and edx, 0xff               ; blue = x + y
    or eax, edx
    mov [fs:edi], eax
    add edi, 4
    inc ebx
    cmp ebx, 640
    jb .v32_px
    inc ecx
    cmp ecx, 480
    jb .v32_row
    SCENE "vbe32"

    ; ---- VBE 800x600, 16 bits per pixel (5:6:5), linear framebuffer.
    mov cx, 800
    mov dx, 600
    mov bl, 16
    call set_vbe_lfb
    xor ecx, ecx
.v16_row:
    xor ebx, ebx
.v16_px:
    mov eax, ebx
    shr eax, 3
    and eax, 31
    shl eax, 11
    mov edx, ecx
    shr edx, 2
    and edx, 63
    shl edx, 5
    or eax, edx
    mov edx, ebx
    add edx, ecx
    shr edx, 3
    and edx, 31
    or eax, edx
    mov [fs:edi], ax
    add edi, 2
    inc ebx
    cmp ebx, 800
    jb .v16_px
    inc ecx
    cmp ecx, 600
    jb .v16_row
    SCENE "vbe16"

    ; ---- VBE 640x480, 24 bits per pixel (B, G, R bytes), linear framebuffer.
    mov cx, 640
    mov dx, 480
    mov bl, 24
    call set_vbe_lfb
    xor ecx, ecx
.v24_row:
    xor ebx, ebx
.v24_px:
    mov al, bl
    xor al, cl
    mov [fs:edi], al            ; blue = x ^ y
    mov [fs:edi + 1], cl        ; green = y
    mov [fs:edi + 2], bl        ; red = x
    add edi, 3
    inc ebx
    cmp ebx, 640
    jb .v24_px
    inc ecx
    cmp ecx, 480
    jb .v24_row
    SCENE "vbe24"

    ; ---- VBE 640x480, 15 bits per pixel (1:5:5:5), linear framebuffer.
    mov cx, 640
    mov dx, 480
    mov bl, 15
    call set_vbe_lfb
    xor ecx, ecx
.v15_row:
    xor ebx, ebx
.v15_px:
    mov eax, ebx
    shr eax, 3
    and eax, 31
    shl eax, 10
    mov edx, ecx
    shr edx, 3
    and edx, 31
    shl edx, 5
    or eax, edx
    mov edx, ebx
    add edx, ecx
    shr edx, 4
    and edx, 31
    or eax, edx
    mov [fs:edi], ax
    add edi, 2
    inc ebx
    cmp ebx, 640
    jb .v15_px
    inc ecx
    cmp ecx, 480
    jb .v15_row
    SCENE "vbe15"

    ; ---- VBE 640x480, 8 bits per pixel, through the banked window.
    mov cx, 640
    mov dx, 480
    mov bl, 8
    call find_vbe_mode
    mov bx, [found_mode]
    mov ax, 0x4f02
    int 0x10
    cmp ax, 0x004f
    je .v8_set
    FAIL "VBE 4F02h (640x480x8, banked) failed"
.v8_set:
    call load_palette
    push word 0xa000
    pop es
    xor ecx, ecx                ; y
    xor edi, edi                ; offset in the framebuffer
    mov word [bank], 0xffff
.v8_row:
    xor ebx, ebx
.v8_px:
    mov eax, edi
    shr eax, 16
    cmp ax, [bank]
    je .v8_same_bank
    mov [bank], ax
    push bx
    mov dx, ax
    xor bx, bx
    mov ax, 0x4f05
    int 0x10
    pop bx
.v8_same_bank:
    mov al, bl
    xor al, cl
    mov [es:di], al
    inc edi
    inc ebx
    cmp ebx, 640
    jb .v8_px
    inc ecx
    cmp ecx, 480
    jb .v8_row
    SCENE "vbe8"

    ; ---- Keys: echo what INT 16h reads until Esc.
    mov ax, 0x0003
    int 0x10
    PRINT "ECHO", 10
.echo:
    xor ah, ah
    int 0x16
    PRINT "KEY "
    movzx eax, ax
    PRINT_HEX eax, 4
    PRINT 10
    cmp al, 27
    jne .echo
    jmp pass

; The CGA pattern: each of the 200 rows at B800:(row & 1) * 0x2000 +
; (row >> 1) * 80, byte x = x * 5 + row (BP=1: XOR 0x55 on odd rows too).
cga_pattern:
    push word 0xb800
    pop es
    xor cx, cx                  ; row
.row:
    mov di, cx
    shr di, 1
    imul di, di, 80
    test cl, 1
    jz .even
    add di, 0x2000
.even:
    xor bx, bx
.byte:
    mov al, bl
    mov ah, 5
    mul ah
    add al, cl
    test bp, bp
    jz .store
    test cl, 1
    jz .store
    xor al, 0x55
.store:
    stosb
    inc bx
    cmp bx, 80
    jb .byte
    inc cx
    cmp cx, 200
    jb .row
    ret

; Waits for a key (INT 16h AH=00h).
wait_key:
    xor ah, ah
    int 0x16
    ret

cursor_off:
    mov ah, 0x01
    mov cx, 0x2000
    int 0x10
    ret

; Writes the string at SI with attribute BL on row DH, column 2, through
; INT 10h AH=13h.
bios_text:
    push si
    push es
    push ds
    pop es
    mov bp, si
    xor cx, cx
.len:
    cmp byte [si], 0
    je .write
    inc si
    inc cx
    jmp .len
.write:
    mov ax, 0x1301
    xor bh, bh
    mov dl, 2
    int 0x10
    pop es
    pop si
    ret

; DAC entries 0-255: red = i & 63, green = (i >> 2) & 63, blue = 63 - (i & 63).
load_palette:
    mov dx, 0x3c8
    xor al, al
    out dx, al
    inc dx
    xor cx, cx
.entry:
    mov al, cl
    and al, 63
    out dx, al
    mov al, cl
    shr al, 2
    out dx, al
    mov al, cl
    and al, 63
    neg al
    add al, 63
    out dx, al
    inc cx
    cmp cx, 256
    jb .entry
    ret

; Sets the VBE mode of CX x DX at BL bits per pixel with its linear
; framebuffer; EDI = the framebuffer's address.
set_vbe_lfb:
    call find_vbe_mode
    mov bx, [found_mode]
    or bx, 0x4000
    mov ax, 0x4f02
    int 0x10
    cmp ax, 0x004f
    je .set
    FAIL "VBE 4F02h (linear framebuffer) failed"
.set:
    mov edi, [found_lfb]
    ret

; Finds the VBE mode of CX x DX at BL bits per pixel in the controller's mode
; list: [found_mode], [found_lfb].
find_vbe_mode:
    push es
    push word BUF_SEG
    pop es
    mov [want_x], cx
    mov [want_y], dx
    mov [want_bpp], bl
    mov dword [es:VBE_INFO], 'VBE2'
    mov di, VBE_INFO
    mov ax, 0x4f00
    int 0x10
    cmp ax, 0x004f
    je .info
    FAIL "VBE 4F00h failed"
.info:
    lfs si, [es:VBE_INFO + 14]  ; the mode list
.mode:
    mov cx, [fs:si]
    cmp cx, 0xffff
    jne .query
    FAIL "no such VBE mode"
.query:
    add si, 2
    mov di, MODE_INFO
    mov ax, 0x4f01
    push cx
    int 0x10
    pop cx
    cmp ax, 0x004f
    jne .mode
    mov ax, [es:MODE_INFO + 0x12]
    cmp ax, [want_x]
    jne .mode
    mov ax, [es:MODE_INFO + 0x14]
    cmp ax, [want_y]
    jne .mode
    mov al, [es:MODE_INFO + 0x19]
    cmp al, [want_bpp]
    jne .mode
    mov [found_mode], cx
    mov eax, [es:MODE_INFO + 0x28]
    mov [found_lfb], eax
    ; FS back to flat 4 GiB (the real-mode load above set its limit to 64K).
    call enter_unreal
    pop es
    ret

UNREAL_FS

want_x:     dw 0
want_y:     dw 0
want_bpp:   db 0
found_mode: dw 0
found_lfb:  dd 0
bank:       dw 0

msg_forty:  db "vemu 40 columns", 0
msg_fifty:  db "50 rows, 8x8 font", 0

STAGE2_END

; multiboot.asm: a Multiboot (v1) ELF kernel, headers written by hand so that
; nasm alone builds it. It checks what the boot loader promises (Multiboot spec
; 3.2 and 3.3) and reports through the debug console and isa-debug-exit. It
; expects -m 32 and the command line "hello=world" (after the kernel's path).
bits 32
org 0x100000

ehdr:
    db 0x7f, "ELF", 1, 1, 1, 0
    times 8 db 0
    dw 2                    ; ET_EXEC
    dw 3                    ; EM_386
    dd 1
    dd start                ; entry
    dd phdr - ehdr          ; program headers
    dd 0, 0
    dw 52, 32, 1            ; header size, phdr size, phdr count
    dw 0, 0, 0
phdr:
    dd 1                    ; PT_LOAD
    dd 0                    ; file offset
    dd ehdr, ehdr           ; vaddr, paddr
    dd file_end - ehdr      ; file size
    dd bss_end - ehdr       ; memory size
    dd 7, 0x1000

align 4
mb_header:
    dd 0x1badb002, 0x00000003, -(0x1badb002 + 3)

%macro PUTS 1
    mov esi, %1
    call puts
%endmacro
%macro REQUIRE 2            ; condition code, message
    j%1 %%ok
    PUTS %2
    jmp fail
%%ok:
%endmacro

start:
    mov esp, stack_top
    cmp eax, 0x2badb002
    REQUIRE e, msg_magic
    mov edi, ebx                        ; multiboot info
    mov eax, cr0
    test eax, 1
    REQUIRE nz, msg_pe
    test eax, 0x80000000
    REQUIRE z, msg_pg
    pushfd
    pop eax
    test eax, 0x20200                   ; VM and IF clear
    REQUIRE z, msg_flags
    mov ax, cs                          ; flat code segment
    lsl eax, eax
    cmp eax, 0xffffffff
    REQUIRE e, msg_cs
    mov ax, ds
    lsl eax, eax
    cmp eax, 0xffffffff
    REQUIRE e, msg_ds
    mov eax, [edi]                      ; flags: mem, cmdline, mmap
    and eax, 0x45
    cmp eax, 0x45
    REQUIRE e, msg_mbflags
    cmp dword [edi + 4], 639            ; 0x9fc00: the EBDA starts above
    REQUIRE e, msg_lower
    cmp dword [edi + 8], 30 << 10       ; at least 30 of the 31 MiB above 1 MiB
    REQUIRE ae, msg_upper
    cmp dword [edi + 8], 31 << 10
    REQUIRE be, msg_upper
    ; the command line ends in "hello=world"
    mov esi, [edi + 16]
.len:
    cmp byte [esi], 0
    je .end
    inc esi
    jmp .len
.end:
    sub esi, 11
    mov ecx, 11
    mov ebx, expected_cmdline
.cmp:
    mov al, [esi]
    cmp al, [ebx]
    REQUIRE e, msg_cmdline
    inc esi
    inc ebx
    loop .cmp
    ; the memory map has RAM from 1 MiB on, at least 30 MiB of it
    mov esi, [edi + 48]
    mov ecx, [edi + 44]
    add ecx, esi
.entry:
    cmp esi, ecx
    REQUIRE b, msg_mmap
    cmp dword [esi + 4], 0x100000
    jne .next
    cmp dword [esi + 20], 1
    REQUIRE e, msg_mmap
    cmp dword [esi + 12], 30 << 20
    REQUIRE ae, msg_mmap
    jmp .mmap_ok
.next:
    add esi, [esi]
    add esi, 4
    jmp .entry
.mmap_ok:
    ; the bss is zeroed
    cmp dword [bss_word], 0
    REQUIRE e, msg_bss
    PUTS msg_pass
    mov al, 0
    out 0xf4, al
    hlt
fail:
    mov al, 1
    out 0xf4, al
    hlt

puts:
    mov dx, 0xe9
.l: lodsb
    test al, al
    jz .d
    out dx, al
    jmp .l
.d: ret

expected_cmdline: db "hello=world"
msg_magic:   db "FAIL: EAX is not 0x2badb002", 10, 0
msg_pe:      db "FAIL: CR0.PE clear", 10, 0
msg_pg:      db "FAIL: CR0.PG set", 10, 0
msg_flags:   db "FAIL: EFLAGS.VM or IF set", 10, 0
msg_cs:      db "FAIL: CS is not a flat 4 GiB segment", 10, 0
msg_ds:      db "FAIL: DS is not a flat 4 GiB segment", 10, 0
msg_mbflags: db "FAIL: information flags lack mem/cmdline/mmap", 10, 0
msg_lower:   db "FAIL: mem_lower is not 639", 10, 0
msg_upper:   db "FAIL: mem_upper is not 30-31 MiB", 10, 0
msg_cmdline: db "FAIL: command line does not end in hello=world", 10, 0
msg_mmap:    db "FAIL: no usable RAM entry at 1 MiB in the memory map", 10, 0
msg_bss:     db "FAIL: bss not zeroed", 10, 0
msg_pass:    db "PASS", 10, 0
align 4
file_end:

; bss: beyond the file, zeroed by the loader
bss_word    equ file_end
stack_top   equ file_end + 4 + 4096
bss_end     equ stack_top

; iobitmap.asm: the TSS I/O permission bitmap at CPL 3 with IOPL 0.
;
; Checks, and the SDM text they follow (SDM Vol 1 19.5.2 "I/O Permission Bit
; Map", Vol 3 7.2.1 I/O map base field, Vol 2 IN/OUT/INS/OUTS "IF ((PE = 1) and
; ((CPL > IOPL) or (VM = 1))) ... IF any I/O permission bit for I/O port being
; accessed = 1 THEN #GP(0)"):
;  - byte/word/dword IN and OUT (immediate port and DX) to ports whose bits are all
;    clear work; a port whose bit is set raises #GP(0) with EIP at the instruction;
;    a word or dword access faults if any of its 2 or 4 bits is set (the second or
;    fourth port denied); a word access whose two bits lie in different bitmap bytes
;    (ports 0x87/0x88) works when both are clear.
;  - INS/OUTS follow the same rule; a faulting one changes neither ESI/EDI nor ECX
;    (REP), a working one advances ESI/EDI.
;  - the bitmap beyond the TSS limit counts as all ones: with the limit ending at
;    bitmap byte 0x1f, port 0x100 (byte 0x20, zero in memory) faults; the processor
;    reads two bitmap bytes for every check and the second must be within the limit
;    too (Vol 1 19.5.2: "the processor reads two bytes from the I/O permission bit
;    map for every access ... an extra byte ... must be within the segment limit"),
;    so port 0xf8 (byte 0x1f, bit clear) faults until the limit covers byte 0x20,
;    then works (TR reloaded with a descriptor whose limit is one byte larger).
;  - CPL <= IOPL bypasses the bitmap: CPL 0 with IOPL 0, and CPL 3 with IOPL 3
;    (Vol 1 19.5.1, 19.5.2).
; Only ports without side effects are touched: 0x80-0x8f (POST/DMA page
; registers), reads of 0xf8 and 0x100 (unassigned).
%include "rom.inc"
%include "gates.inc"

SEL_TSS2        equ SEL_FREE    ; same TSS, limit one byte larger
IOMAP           equ TSS_BASE + 0x68
BUF             equ 0x10000

; FAULTS {instruction}, "what": the instruction raises #GP(0), EIP at it
%macro FAULTS 2+
    SET_RECOVERY %%after
%%insn:
    %1
%%after:
    CHECK_EXC 13, 0, %2
    CHECK32 [VAR_EXC_EIP], %%insn, %2, " (eip)"
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32

; EAX = EIP, ECX = EFLAGS: IRETD to CPL 3
to_ring3:
    mov dx, SEL_DATA32_R3
    mov ds, dx
    mov es, dx
    mov fs, dx
    mov gs, dx
    push dword SEL_DATA32_R3
    push dword STACK3_TOP
    push ecx
    push dword SEL_CODE32_R3
    push eax
    iretd

; back in ring 0 from an INT: flat segments, fresh stack
%macro RING0 0
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, STACK0_TOP
%endmacro

pm_main:
    PRINT "iobitmap: setup", 10
    ; bitmap: bytes 0x00-0x1f inside the TSS limit (0x87), bytes 0x20-0x21 beyond
    mov edi, IOMAP
    mov eax, 0xffffffff
    mov ecx, 8
    rep stosd
    mov word [IOMAP + 0x20], 0          ; beyond the limit: clear in memory
    mov byte [IOMAP + 0x10], 0x02       ; 0x80 ok, 0x81 denied, 0x82-0x87 ok
    mov byte [IOMAP + 0x11], 0x20       ; 0x88-0x8c ok, 0x8d denied, 0x8e-0x8f ok
    and byte [IOMAP + 0xe9 / 8], ~(1 << (0xe9 & 7))     ; debug console
    and byte [IOMAP + 0xf4 / 8], ~(1 << (0xf4 & 7))     ; exit port
    and byte [IOMAP + 0xf8 / 8], ~(1 << (0xf8 & 7))     ; 0xf8: last byte in the limit
    mov word [TSS_BASE + 0x66], 0x68
    mov word [GDT_BASE + SEL_TSS], 0x87
    mov dword [GDT_BASE + SEL_TSS2], (TSS_BASE << 16) | 0x88
    mov dword [GDT_BASE + SEL_TSS2 + 4], ACC_TSS32 << 8
    GATE 0x80, SEL_CODE32, phase2, 0xee00
    GATE 0x81, SEL_CODE32, phase4, 0xee00
    GATE 0x82, SEL_CODE32, phase6, 0xee00
    mov ax, SEL_TSS
    ltr ax
    ; The DMA page latches at 0x89-0x8b hold 0xff, like the unclaimed 0x8c, so
    ; the dword read from 0x89 below is all ones however a 32-bit access to 8-bit
    ; ports is carried out (the ISA bus splits it; QEMU 7.2 returns all ones
    ; without asking the device). Only the bitmap check matters here.
    mov al, 0xff
    out 0x89, al
    out 0x8a, al
    out 0x8b, al
    PRINT "iobitmap: cpl 3, iopl 0", 10
    mov eax, phase1
    mov ecx, 2
    jmp to_ring3

phase1:
    ; ---- byte accesses ----
    out 0x80, al
    in al, 0x80
    CHECK_NO_EXC "out/in port 0x80 (allowed)"
    FAULTS {out 0x81, al}, "out port 0x81 (denied)"
    FAULTS {in al, 0x81}, "in port 0x81 (denied)"
    mov dx, 0x8d
    FAULTS {out dx, al}, "out dx=0x8d (denied)"
    ; ---- word accesses ----
    mov dx, 0x80
    FAULTS {out dx, ax}, "word out 0x80 (0x81 denied)"
    FAULTS {in ax, dx}, "word in 0x80 (0x81 denied)"
    mov dx, 0x82
    out dx, ax
    in ax, dx
    CHECK_NO_EXC "word out/in 0x82"
    mov dx, 0x87
    in ax, dx
    CHECK_NO_EXC "word in 0x87 (bits in two bitmap bytes)"
    mov dx, 0x8e
    in ax, dx
    CHECK_NO_EXC "word in 0x8e"
    mov dx, 0x8f
    FAULTS {in ax, dx}, "word in 0x8f (0x90 denied)"
    FAULTS {in ax, 0x8c}, "word in 0x8c (0x8d denied)"
    ; ---- dword accesses ----
    mov dx, 0x84
    out dx, eax
    in eax, dx
    CHECK_NO_EXC "dword out/in 0x84"
    mov dx, 0x89
    in eax, dx
    CHECK_NO_EXC "dword in 0x89 (0x89-0x8c)"
    mov dx, 0x8a
    FAULTS {out dx, eax}, "dword out 0x8a (0x8d denied)"
    FAULTS {in eax, 0x80}, "dword in 0x80 (0x81 denied)"

    ; ---- string I/O ----
    mov dx, 0x80
    mov edi, BUF
    insb
    CHECK_NO_EXC "insb 0x80"
    CHECK32 edi, BUF + 1, "insb 0x80: edi"
    mov dx, 0x81
    mov esi, BUF
    FAULTS outsb, "outsb 0x81 (denied)"
    CHECK32 esi, BUF, "outsb 0x81: esi unchanged"
    mov dx, 0x82
    outsw
    CHECK_NO_EXC "outsw 0x82"
    CHECK32 esi, BUF + 2, "outsw 0x82: esi"
    mov dx, 0x8a
    mov edi, BUF
    FAULTS insd, "insd 0x8a (0x8d denied)"
    CHECK32 edi, BUF, "insd 0x8a: edi unchanged"
    mov dx, 0x84
    mov esi, BUF
    mov ecx, 2
    rep outsd
    CHECK_NO_EXC "rep outsd 0x84"
    CHECK32 esi, BUF + 8, "rep outsd 0x84: esi"
    CHECK32 ecx, 0, "rep outsd 0x84: ecx"
    mov dx, 0x8d
    mov edi, BUF
    mov ecx, 2
    FAULTS {rep insb}, "rep insb 0x8d (denied)"
    CHECK32 ecx, 2, "rep insb 0x8d: ecx unchanged"
    CHECK32 edi, BUF, "rep insb 0x8d: edi unchanged"

    ; ---- the TSS limit ----
    mov dx, 0x100
    FAULTS {in al, dx}, "in 0x100: bitmap byte beyond the tss limit"
    mov dx, 0xf8
    FAULTS {in al, dx}, "in 0xf8: second bitmap byte beyond the tss limit"
    int 0x80

phase2:
    RING0
    ; CPL 0 <= IOPL 0: no bitmap check
    in al, 0x81
    mov dx, 0x100
    in al, dx
    CHECK_NO_EXC "cpl 0: denied ports"
    ; TR: the same TSS with limit 0x88 (bitmap byte 0x20 inside)
    and byte [GDT_BASE + SEL_TSS + 5], ~2    ; not busy
    mov ax, SEL_TSS2
    ltr ax
    mov eax, phase3
    mov ecx, 2
    jmp to_ring3

phase3:
    mov dx, 0xf8
    in al, dx
    CHECK_NO_EXC "in 0xf8 with both bitmap bytes within the limit"
    mov dx, 0x100
    FAULTS {in al, dx}, "in 0x100: second bitmap byte beyond the limit"
    mov dx, 0x80
    FAULTS {out dx, ax}, "word out 0x80 with the larger limit"
    int 0x81

phase4:
    RING0
    PRINT "iobitmap: cpl 3, iopl 3", 10
    mov eax, phase5
    mov ecx, FL_IOPL | 2
    jmp to_ring3

phase5:
    ; CPL 3 <= IOPL 3: no bitmap check
    out 0x81, al
    in al, 0x81
    mov dx, 0x80
    out dx, ax
    mov dx, 0x8a
    out dx, eax
    mov dx, 0x100
    in al, dx
    mov dx, 0x81
    mov esi, BUF
    outsb
    CHECK_NO_EXC "iopl 3: denied ports"
    CHECK32 esi, BUF + 1, "iopl 3: outsb 0x81: esi"
    int 0x82

phase6:
    RING0
    PASS

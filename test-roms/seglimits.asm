; seglimits.asm: segment limit and segment type checks on memory accesses in
; protected mode (and the 64 KiB limit in real mode).
;
; SDM Vol 3 5.3 "Limit Checking" (expand-up: valid offsets 0..limit; expand-down:
; limit+1..FFFFh (B=0) or FFFFFFFFh (B=1); G=1 scales the limit to
; limit*4096+FFFh; every byte of the operand must be inside), 5.5 "Privilege
; Levels"/3.4.5.1 "Code- and Data-Segment Descriptor Types" (read-only data is
; not writable, execute-only code is not readable, code is never writable), and
; the MOV/PUSH/POP pages "Protected Mode Exceptions": a DS/ES/FS/GS violation is
; #GP(0), an SS violation (explicit SS, [ESP]/[EBP] addressing, PUSH/POP) is
; #SS(0); the faulting instruction changes nothing (memory, ESP, EDI).
;   - expand-up byte-granular (limit FFFh): last byte/word/dword inside ok; a byte
;     past, a word or dword straddling the limit, STOSD past -> #GP(0)
;   - expand-up page-granular (limit 0, G=1: FFFh)
;   - stack segment (limit FFFh): [ESP+x], [EBP] past -> #SS(0), DS:[EBP] is a DS
;     access; POP past the limit -> #SS(0) with ESP unchanged
;   - PUSH past an expand-up limit and below an expand-down limit -> #SS(0): run
;     at CPL 3 so the exception is delivered on the TSS ring-0 stack; a far CALL
;     with no room for its return address and an offset past the new CS limit:
;     #SS(0), not #GP(0) (CALL pseudocode: the stack is checked first)
;   - expand-down data B=0 (valid 1000h-FFFFh), B=1 (1000h-FFFFFFFFh), G=1
;     (limit FFFFEh: FFFFF000h-FFFFFFFFh), expand-down stack
;   - read-only data: read ok, MOV/ADD to memory -> #GP(0), memory unchanged
;   - execute-only code: CS-override read -> #GP(0); readable code: CS-override
;     read ok, write -> #GP(0); a readable code segment in ES: write -> #GP(0)
;   - real mode (limit FFFFh from reset): word at FFFFh -> #GP, dword at SS:FFFEh
;     -> #SS, 32-bit offset 10000h -> #GP (MOV page "Real-Address Mode Exceptions")
; QEMU 7.2 enforces none of the data/stack limit and type checks on accesses:
; all the faulting cases sit in %ifndef QEMU (checked under Bochs); the accesses
; that must work, and land at base+offset, are checked under both.
%include "rom.inc"
%include "checks.inc"

SEL_LIM     equ 0x40    ; data RW, base 10000h, limit FFFh, byte granular
SEL_LIMG    equ 0x48    ; data RW, base 20000h, limit 0, G=1 (FFFh)
SEL_STK     equ 0x50    ; data RW, base 30000h, limit FFFh, B=1 (stack)
SEL_ED16    equ 0x58    ; expand-down RW, base 40000h, limit FFFh, B=0
SEL_ED32    equ 0x60    ; expand-down RW, base 40000h, limit FFFh, B=1
SEL_EDG     equ 0x68    ; expand-down RW, base 50000h, limit FFFFEh, G=1, B=1
SEL_RO      equ 0x70    ; data read-only, base 0, 4 GiB
SEL_XO      equ 0x78    ; code execute-only, base 0, 4 GiB, 32-bit
SEL_EDSTK   equ 0x80    ; expand-down RW, base 60000h, limit FFFh, B=1 (stack)
SEL_STK3    equ 0x88    ; DPL 3 data RW, base 70000h, limit FFFh, B=1
SEL_EDSTK3  equ 0x90    ; DPL 3 expand-down RW, base 78000h, limit FFFh, B=1
SEL_GATE    equ 0x98    ; DPL 3 32-bit call gate -> SEL_CODE32:ring0_back
SEL_RC      equ 0xa0    ; code execute/read, base 0, 4 GiB, 32-bit
SEL_CODE3L  equ 0xa8    ; DPL 3 code execute/read, base 0, limit FFFh, 32-bit

CODE16
main:
    PRINT "seglimits: real mode", 10
%ifndef QEMU
    ; MOV page "Real-Address Mode Exceptions": #GP / #SS if any part of the
    ; operand is outside the 64 KiB segment; QEMU 7.2 does not check.
    INSTALL_RM_HANDLERS
    SET_RECOVERY .rm1
    mov ax, [0xffff]
.rm1:
    CHECK_EXC 13, 0xffffffff, "real mode: word at ds:ffff"
    SET_RECOVERY .rm2
    mov bp, 0xfffe
    mov eax, [bp]
.rm2:
    CHECK_EXC 12, 0xffffffff, "real mode: dword at ss:fffe"
    SET_RECOVERY .rm3
    mov esi, 0x10000
    mov al, [esi]
.rm3:
    CHECK_EXC 13, 0xffffffff, "real mode: byte at ds:10000 (32-bit address)"
%endif
    mov ax, [0xfffe]                ; the last word inside is fine
    CHECK_NO_EXC "real mode: word at ds:fffe"
    ENTER_PM32 pm_main

CODE32
pm_main:
    SETDESC SEL_LIM,    0x10000, 0xfff,   0x93, FLG_32
    SETDESC SEL_LIMG,   0x20000, 0,       0x93, FLG_4K32
    SETDESC SEL_STK,    0x30000, 0xfff,   0x93, FLG_32
    SETDESC SEL_ED16,   0x40000, 0xfff,   0x97, 0
    SETDESC SEL_ED32,   0x40000, 0xfff,   0x97, FLG_32
    SETDESC SEL_EDG,    0x50000, 0xffffe, 0x97, FLG_4K32
    SETDESC SEL_RO,     0,       0xfffff, 0x91, FLG_4K32
    SETDESC SEL_XO,     0,       0xfffff, 0x99, FLG_4K32
    SETDESC SEL_EDSTK,  0x60000, 0xfff,   0x97, FLG_32
    SETDESC SEL_STK3,   0x70000, 0xfff,   0xf3, FLG_32
    SETDESC SEL_EDSTK3, 0x78000, 0xfff,   0xf7, FLG_32
    SETDESC SEL_RC,     0,       0xfffff, 0x9b, FLG_4K32
    SETDESC SEL_CODE3L, 0,       0xfff,   0xfb, FLG_32
    ; call gate: offset ring0_back, selector SEL_CODE32, P DPL3 type C, 0 params
    mov eax, ring0_back
    mov word [GDT_BASE + SEL_GATE], ax
    mov word [GDT_BASE + SEL_GATE + 2], SEL_CODE32
    mov word [GDT_BASE + SEL_GATE + 4], 0xec00
    shr eax, 16
    mov word [GDT_BASE + SEL_GATE + 6], ax

    ; ------------------------------------------------ expand-up, byte granular
    PRINT "seglimits: expand-up", 10
    mov dword [0x10ffc], 0x11111111
    mov dword [0x11000], 0x22222222
    mov ax, SEL_LIM
    mov es, ax
    TRYOK {mov byte [es:0xfff], 0xab}, "byte at the limit"
    CHK [0x10ffc], 0xab111111, "byte at es:fff is linear 10fff"
    TRYOK {mov eax, [es:0xffc]}, "dword ending at the limit"
    CHK eax, 0xab111111, "dword read at es:ffc"
    TRYOK {mov word [es:0xffe], 0x3344}, "word ending at the limit"
    CHK [0x10ffc], 0x33441111, "word written at es:ffe"
%ifndef QEMU
    ; SDM Vol 3 5.3: offsets past the limit, or operands that straddle it
    TRYEXC {mov al, [es:0x1000]}, 13, 0, "byte past the limit"
    TRYEXC {mov dword [es:0xffd], 0x55555555}, 13, 0, "dword straddling the limit"
    CHK [0x10ffc], 0x33441111, "straddling write changed nothing below the limit"
    CHK [0x11000], 0x22222222, "straddling write changed nothing past the limit"
    TRYEXC {mov ax, [es:0xfff]}, 13, 0, "word straddling the limit"
    TRYEXC {mov eax, [es:0xffffffff]}, 13, 0, "offset ffffffff"
    mov edi, 0x1000
    TRYEXC {stosd}, 13, 0, "stosd at es:1000"
    CHK edi, 0x1000, "stosd fault: edi unchanged"
%endif
    ; ------------------------------------------------ expand-up, page granular
    mov ax, SEL_LIMG
    mov fs, ax
    mov dword [0x20ffc], 0x01020304
    TRYOK {mov eax, [fs:0xffc]}, "G=1 limit 0: dword at fs:ffc"
    CHK eax, 0x01020304, "fs:ffc is linear 20ffc"
%ifndef QEMU
    ; SDM Vol 3 5.3: G=1 scales the limit to FFFh; past it -> #GP(0)
    TRYEXC {mov eax, [fs:0xffd]}, 13, 0, "G=1 limit 0: dword straddling fffh"
    TRYEXC {mov [fs:0x1000], al}, 13, 0, "G=1 limit 0: byte at 1000h"
%endif

    ; ------------------------------------------------ stack segment, expand-up
    PRINT "seglimits: stack", 10
    mov dword [0x30ffc], 0x0a0b0c0d
    mov ax, SEL_STK
    mov ss, ax
    mov esp, 0x800
    TRYOK {mov ecx, [esp+0x7fc]}, "[esp+7fc]: last dword of the stack segment"
    mov ebp, 0xffe
    TRYOK {mov ebx, [ds:ebp]}, "ds:[ebp]: a DS access, not checked against SS"
%ifndef QEMU
    ; SDM Vol 3 5.3 / MOV and POP pages: SS limit violations are #SS(0)
    TRYEXC {mov eax, [esp+0x800]}, 12, 0, "[esp+800] past the stack limit"
    TRYEXC {mov eax, [ebp]}, 12, 0, "[ebp] straddling the stack limit"
    TRYEXC {mov eax, [ss:0x1000]}, 12, 0, "ss:1000 past the stack limit"
    mov esp, 0xffe
    TRYEXC {pop eax}, 12, 0, "pop straddling the stack limit"
    mov edx, esp
%else
    mov edx, 0xffe
%endif
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, STACK0_TOP
    CHK ecx, 0x0a0b0c0d, "[esp+7fc] is linear 30ffc"
    CHK ebx, [0xffe], "ds:[ebp] read linear ffe"
    CHK edx, 0xffe, "pop fault: esp unchanged"

    ; ------------------------------------------------ expand-down
    PRINT "seglimits: expand-down", 10
    mov ax, SEL_ED16
    mov es, ax
    TRYOK {mov byte [es:0x1000], 0x5a}, "B=0: byte at limit+1"
    CHK8 [0x41000], 0x5a, "B=0: es:1000 is linear 41000"
    TRYOK {mov dword [es:0xfffc], 0x89abcdef}, "B=0: dword ending at ffff"
    CHK [0x4fffc], 0x89abcdef, "B=0: es:fffc is linear 4fffc"
%ifndef QEMU
    ; SDM Vol 3 5.3: expand-down, B=0: valid offsets are limit+1 .. FFFFh
    TRYEXC {mov al, [es:0xfff]}, 13, 0, "B=0: byte at the limit"
    TRYEXC {mov al, [es:0]}, 13, 0, "B=0: byte at 0"
    TRYEXC {mov eax, [es:0xffe]}, 13, 0, "B=0: dword straddling limit+1"
    TRYEXC {mov ax, [es:0xffff]}, 13, 0, "B=0: word past ffff"
    TRYEXC {mov al, [es:0x10000]}, 13, 0, "B=0: byte at 10000"
%endif
    mov ax, SEL_ED32
    mov es, ax
    TRYOK {mov dword [es:0x10000], 0x13579bdf}, "B=1: dword at 10000"
    CHK [0x50000], 0x13579bdf, "B=1: es:10000 is linear 50000"
    TRYOK {mov dword [es:0xfffffffc], 0x2468ace0}, "B=1: dword at fffffffc"
    CHK [0x3fffc], 0x2468ace0, "B=1: es:fffffffc is linear 3fffc (wraps)"
    TRYOK {mov al, [es:0xffffffff]}, "B=1: byte at ffffffff"
%ifndef QEMU
    ; SDM Vol 3 5.3: expand-down, B=1: valid offsets are limit+1 .. FFFFFFFFh
    TRYEXC {mov al, [es:0xfff]}, 13, 0, "B=1: byte at the limit"
    TRYEXC {mov eax, [es:0xffd]}, 13, 0, "B=1: dword straddling limit+1"
%endif
    mov ax, SEL_EDG
    mov fs, ax
    mov dword [0x4f000], 0xfedcba98
    TRYOK {mov eax, [fs:0xfffff000]}, "G=1 limit ffffeh: dword at fffff000"
    CHK eax, 0xfedcba98, "G=1: fs:fffff000 is linear 4f000"
%ifndef QEMU
    ; SDM Vol 3 5.3: expand-down, G=1: valid offsets from limit*4096+FFFh+1
    TRYEXC {mov eax, [fs:0xffffeffc]}, 13, 0, "G=1 limit ffffeh: dword at ffffeffc"
    TRYEXC {mov eax, [fs:0xffffeffe]}, 13, 0, "G=1 limit ffffeh: dword straddling fffff000"
%endif
    ; expand-down stack: ESP in range, [esp-x] below limit+1 is #SS(0)
    mov ax, SEL_EDSTK
    mov ss, ax
    mov esp, 0x2000
    mov eax, 0x600df00d
    push eax
    mov ecx, esp
    mov edx, [esp]
    TRYOK {mov ebx, [esp-0xffc]}, "expand-down stack: [esp-ffc] = 1000"
%ifndef QEMU
    ; SDM Vol 3 5.3: expand-down stack segment, below limit+1 -> #SS(0)
    TRYEXC {mov eax, [esp-0x1000]}, 12, 0, "expand-down stack: [esp-1000] = ffc"
%endif
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, STACK0_TOP
    CHK ecx, 0x1ffc, "expand-down stack: push moved esp to 1ffc"
    CHK [0x61ffc], 0x600df00d, "expand-down stack: pushed at linear 61ffc"

    ; ------------------------------------------------ read-only, code segments
    PRINT "seglimits: segment types", 10
    mov ax, SEL_RO
    mov gs, ax
    mov dword [VAR_SCRATCH], 0x7e57da7a
    TRYOK {mov eax, [gs:VAR_SCRATCH]}, "read through read-only gs"
    CHK eax, 0x7e57da7a, "read-only gs reads memory"
%ifndef QEMU
    ; SDM Vol 3 3.4.5.1 / MOV page: write to a non-writable segment -> #GP(0)
    TRYEXC {mov dword [gs:VAR_SCRATCH], 0}, 13, 0, "write through read-only gs"
    TRYEXC {add [gs:VAR_SCRATCH], eax}, 13, 0, "add to memory through read-only gs"
    TRYEXC {inc byte [gs:VAR_SCRATCH]}, 13, 0, "inc through read-only gs"
    CHK [VAR_SCRATCH], 0x7e57da7a, "read-only: memory unchanged"
    TRYEXC {mov [cs:VAR_SCRATCH], eax}, 13, 0, "write through cs (readable code)"
    mov ax, SEL_RC
    mov es, ax
    TRYEXC {mov [es:VAR_SCRATCH], eax}, 13, 0, "write through es holding readable code"
    mov ax, SEL_DATA32
    mov es, ax
    CHK [VAR_SCRATCH], 0x7e57da7a, "code segments: memory unchanged"
%endif
    TRYOK {mov eax, [cs:ro_const + 0xf0000]}, "read through cs (readable code)"
    CHK eax, 0x600dc0de, "cs-override read"
%ifndef QEMU
    ; SDM Vol 3 3.4.5.1 / MOV page: reading an execute-only code segment -> #GP(0)
    ; execute-only code: reading through CS is #GP(0)
    SET_RECOVERY xo_rec
    jmp SEL_XO:xo_read
xo_back:
    push dword 13
    push dword 0
    push dword xo_read
    call exc_helper
    db "read through execute-only cs", 0
    CHK [VAR_EXC_CS], SEL_XO, "read through execute-only cs: faulting cs"
%endif

    ; ------------------------------------------------ PUSH past the limit (CPL 3)
    PRINT "seglimits: push at CPL 3", 10
    mov ax, SEL_TSS
    ltr ax
    push dword SEL_DATA32_R3        ; ss
    push dword STACK3_TOP           ; esp
    push dword 0x3002               ; eflags: IOPL 3 (so a failure can still print)
    push dword SEL_CODE32_R3        ; cs
    push dword ring3                ; eip
    iretd

ring3:
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    CHKSEG cs, SEL_CODE32_R3, "ring 3 reached"
    mov ebx, 0x5a5a5a5a
    mov dword [0x70ffc], 0x3c3c3c3c
    ; no calls while SS is one of the small stacks (they would push past them)
    mov ax, SEL_STK3 | 3
    mov ss, ax
    mov esp, 0x1002
    mov esi, [esp-6]                ; offset ffc: inside
%ifndef QEMU
    ; SDM Vol 3 5.3 / PUSH page: #SS(0) if the new stack top is outside SS
    SET_RECOVERY .r1
.f1: push ebx                       ; writes ffe-1001: past the limit fffh
.r1:
    mov eax, [VAR_EXC_VECTOR]       ; keep the first fault's record
    mov [VAR_SCRATCH+0x20], eax
    mov eax, [VAR_EXC_ERROR]
    mov [VAR_SCRATCH+0x24], eax
    mov eax, [VAR_EXC_EIP]
    mov [VAR_SCRATCH+0x28], eax
    ; SDM Vol 2 CALL, far call to a code segment: the stack must have room for the
    ; return address (#SS(0)) before the offset is checked against the new CS limit
    ; (#GP(0)); both fail here, #SS wins (Bochs agrees)
    SET_RECOVERY .r3
.f3: call (SEL_CODE3L | 3):0x2000   ; offset past FFFh, CS pushed at ffe: past the limit
.r3:
    mov [VAR_SCRATCH+0x38], esp
    mov eax, [VAR_EXC_VECTOR]
    mov [VAR_SCRATCH+0x2c], eax
    mov eax, [VAR_EXC_ERROR]
    mov [VAR_SCRATCH+0x30], eax
    mov eax, [VAR_EXC_EIP]
    mov [VAR_SCRATCH+0x34], eax
%endif
    mov edx, esp
    mov ax, SEL_EDSTK3 | 3
    mov ss, ax
    mov esp, 0x1006
    push ebx                        ; writes 1002-1005: inside
    mov edi, esp
%ifndef QEMU
    ; SDM Vol 3 5.3 / PUSH page: below limit+1 of an expand-down stack -> #SS(0)
    SET_RECOVERY .r2
.f2: push ebx                       ; writes ffe-1001: below limit+1
.r2:
%endif
    mov ecx, esp
    mov ax, SEL_DATA32_R3
    mov ss, ax
    mov esp, STACK3_TOP
    CHK edi, 0x1002, "expand-down cpl3 stack: push inside"
%ifndef QEMU
    ; SDM Vol 3 5.3 / PUSH page: #SS(0) if the new stack top is outside SS
    CHK edx, 0x1002, "push fault: esp unchanged"
    CHK ecx, 0x1002, "expand-down push fault: esp unchanged"
    CHK [VAR_SCRATCH+0x20], 12, "push past the stack limit: vector"
    CHK [VAR_SCRATCH+0x24], 0, "push past the stack limit: error code"
    CHK [VAR_SCRATCH+0x28], .f1, "push past the stack limit: faulting eip"
    CHK [VAR_SCRATCH+0x2c], 12, "far call, no room on the stack, offset past the cs limit: #SS first"
    CHK [VAR_SCRATCH+0x30], 0, "far call, no room on the stack: error code"
    CHK [VAR_SCRATCH+0x34], .f3, "far call, no room on the stack: faulting eip"
    CHK [VAR_SCRATCH+0x38], 0x1002, "far call, no room on the stack: esp unchanged"
    CHK [VAR_EXC_COUNT], 3, "three #SS at cpl 3"
    mov dword [VAR_EXC_COUNT], 1
    push dword 12
    push dword 0
    push dword .f2
    call exc_helper
    db "push below the expand-down limit+1", 0
%endif
    CHK esi, 0x3c3c3c3c, "cpl3 stack: [esp-6] read linear 70ffc"
    CHK [0x79002], 0x5a5a5a5a, "expand-down cpl3 stack: push at linear 79002"
    call SEL_GATE | 3:0

ring0_back:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0_TOP
    CHKSEG cs, SEL_CODE32, "back at ring 0"
    call noexc_helper
    db "seglimits: no stray exception", 0
    PASS

%ifndef QEMU
; (QEMU 7.2 does not check CS-override reads against execute-only segments)
; runs with CS = SEL_XO (execute-only); no checks in here (they read CS)
xo_read:
    mov eax, [cs:ro_const + 0xf0000]
xo_rec:
    jmp SEL_CODE32:xo_back
%endif

[section .rodata]
ro_const: dd 0x600dc0de


; v86.asm: virtual-8086 mode (no VME): entry by IRETD, real-mode style segments,
; IOPL-sensitive instructions, the I/O permission bitmap, INT n to protected-mode
; handlers, leaving V86 mode through an interrupt gate.
;
; Checks, and the SDM text they follow:
;  - IRETD at CPL 0 with EFLAGS.VM=1 in the frame (SDM Vol 2 IRET,
;    RETURN-TO-VIRTUAL-8086-MODE; Vol 3 20.2.5): pops EIP, CS, EFLAGS, ESP, SS, ES,
;    DS, FS, GS; segments act as in real mode (base = selector * 16), checked with
;    memory reads and writes, also after a segment load inside V86 mode (Vol 3
;    20.1.1).
;  - with IOPL < 3, CLI, STI, PUSHF, PUSHFD, POPF, IRET and INT n raise #GP(0) (SDM
;    Vol 3 20.2.7 "Sensitive Instructions"; Vol 2 CLI/STI/PUSHF/POPF/IRET/INT n
;    Virtual-8086 Mode Exceptions) with a faulting CS:IP at the instruction, no
;    push done; the exception frame on the ESP0 stack holds EFLAGS with VM=1 and the
;    V86 SS, ESP, ES, DS, FS, GS (Vol 3 20.3.1.1, Figure 20-2).
;  - a ring-0 #GP handler (a V86 monitor) sees DS/ES/FS/GS loaded with null, changes
;    IOPL in the EFLAGS image and IRETDs back (Vol 3 20.3.1.1, 20.3.1.2).
;  - with IOPL = 3: CLI/STI change IF; PUSHFD pushes an image with VM and RF clear
;    (Vol 2 PUSHF "EFLAGS AND 00FCFFFFH"); POPF/POPFD leave IOPL (and VM, RF) alone
;    (Vol 2 POPF, VM=1 and IOPL=3); a 16-bit IRET works and keeps IOPL (Vol 2 IRET,
;    "IOPL in EFLAGS not modified by pop").
;  - INT n with IOPL = 3 goes through the IDT (Vol 2 INT n, INTERRUPT-FROM-
;    VIRTUAL-8086-MODE; Vol 3 20.3.1.1): ring-0 handler with SS:ESP from the TSS,
;    frame EIP, CS, EFLAGS (VM=1), ESP, SS, ES, DS, FS, GS; DS/ES/FS/GS null in the
;    handler; VM/IF/TF/NT/RF cleared; IRETD returns to V86 mode with all segments
;    restored. A gate with DPL < 3: #GP(vector*8+2). A gate to a code segment with
;    DPL != 0: #GP(code segment selector).
;  - IN/OUT in V86 mode are checked against the TSS I/O permission bitmap whatever
;    the IOPL (Vol 1 19.5.2, Vol 3 20.2.8.1): port 0x80 allowed, port 0x81 denied ->
;    #GP(0), a word access whose second port is denied -> #GP(0).
;  - INT n to a DPL-3 interrupt gate whose handler stays in ring 0: VM is clear
;    there (leaving V86 mode).
%include "rom.inc"
%include "gates.inc"

V86_SS          equ 0x0800
V86_SP          equ 0x1000      ; linear 0x9000
V86_ES          equ 0x1000      ; base 0x10000
V86_FS          equ 0x1001      ; base 0x10010
V86_GS          equ 0x2000      ; base 0x20000
V_FRAME         equ STACK_ESP0_TOP - 36     ; EIP of a frame pushed from V86 mode
GP_ORIG         equ 0x5f0       ; offset of the library's #GP stub

CODE16
main:
    ENTER_PM32 pm_main

CODE32

pm_main:
    PRINT "v86: setup", 10
    mov al, 0xff                ; mask every PIC input: STI runs in V86 mode below
    out 0x21, al
    out 0xa1, al
    ; I/O bitmap: ports 0-0xff mapped, allowed: 0x80, 0xe9 (console), 0xf4 (exit)
    mov word [GDT_BASE + SEL_TSS], 0x87
    mov edi, TSS_BASE + 0x68
    mov eax, 0xffffffff
    mov ecx, 8
    rep stosd
    and byte [TSS_BASE + 0x68 + 0x80 / 8], ~(1 << (0x80 & 7))
    and byte [TSS_BASE + 0x68 + 0xe9 / 8], ~(1 << (0xe9 & 7))
    and byte [TSS_BASE + 0x68 + 0xf4 / 8], ~(1 << (0xf4 & 7))
    mov word [TSS_BASE + 0x66], 0x68
    mov dword [0x10010], 0x5a5a1234
    mov dword [0x20000], 0x600df00d
    mov dword [0x10020], 0
    mov dword [V86_SS * 16], 0x55aa55aa

    GATE 0x80, SEL_CODE32, v86_int80, 0xee00        ; DPL 3 interrupt gate
    GATE 0x81, SEL_CODE32, int81_handler, 0x8e00    ; DPL 0 interrupt gate
    GATE 0x82, SEL_CODE32_R3, int81_handler, 0xee00 ; DPL 3 gate to DPL-3 code
    GATE 0x83, SEL_CODE32, v86_exit, 0xee00         ; DPL 3 interrupt gate
    ; #GP: our V86 monitor, which passes everything but the magic CLI on to the
    ; library recorder
    movzx eax, word [IDT_BASE + 13 * 8 + 6]
    shl eax, 16
    mov ax, [IDT_BASE + 13 * 8]
    mov [GP_ORIG], eax
    GATE 13, SEL_CODE32, gp_monitor, 0x8e00
    mov ax, SEL_TSS
    ltr ax

    PRINT "v86: iopl 0", 10
    push dword V86_GS
    push dword V86_FS
    push dword 0                ; DS
    push dword V86_ES
    push dword V86_SS
    push dword V86_SP
    push dword FL_VM | 2        ; IOPL 0, IF 0
    push dword 0xf000
    push dword v86_start
    iretd

; ---- #GP handler: V86 monitor ----
gp_monitor:
    cmp dword [ss:esp + 4], v86_magic
    jne .chain
    cmp word [ss:esp + 8], 0xf000
    jne .chain
    mov [ss:VAR_SCRATCH], ds
    mov [ss:VAR_SCRATCH + 2], es
    mov [ss:VAR_SCRATCH + 4], fs
    mov [ss:VAR_SCRATCH + 6], gs
    pushad
    mov ax, SEL_DATA32
    mov ds, ax
    lea ebx, [esp + 32]         ; error code
    CHECK_FLAGS FL_VM | FL_IF | FL_TF | FL_NT, 0, "monitor: flags in the handler"
    CHECK32 ebx, V_FRAME - 4, "monitor: esp"
    CHECK32 cs, SEL_CODE32, "monitor: cs"
    CHECK32 ss, SEL_DATA32, "monitor: ss"
    CHECK16 [VAR_SCRATCH], 0, "monitor: ds null"
    CHECK16 [VAR_SCRATCH + 2], 0, "monitor: es null"
    CHECK16 [VAR_SCRATCH + 4], 0, "monitor: fs null"
    CHECK16 [VAR_SCRATCH + 6], 0, "monitor: gs null"
    CHECK32 [ebx], 0, "monitor: error code"
    CHECK16 [ebx + 8], 0xf000, "monitor: frame cs"
%ifdef QEMU
    ; QEMU 7.2 pushes RF=0 for faults (SDM Vol. 3A 17.3.1.1 says 1): the build
    ; compared with QEMU clears it in the frame before anything reads it.
    and dword [ebx + 12], ~FL_RF
%endif
    mov eax, [ebx + 12]
    and eax, ~(FL_RF | FL_ARITH)
    CHECK32 eax, FL_VM | 2, "monitor: frame eflags"
    CHECK32 [ebx + 16], V86_SP, "monitor: frame esp"
    CHECK16 [ebx + 20], V86_SS, "monitor: frame ss"
    CHECK16 [ebx + 24], V86_ES, "monitor: frame es"
    CHECK16 [ebx + 28], 0, "monitor: frame ds"
    CHECK16 [ebx + 32], V86_FS, "monitor: frame fs"
    CHECK16 [ebx + 36], V86_GS, "monitor: frame gs"
    or dword [ebx + 12], FL_IOPL    ; IOPL 3
    inc dword [ebx + 4]             ; step over the 1-byte CLI
    popad
    add esp, 4
    iretd
.chain:
    jmp dword [ss:GP_ORIG]

; ---- INT 0x80 from V86 mode ----
v86_int80:
    mov [ss:VAR_SCRATCH], ds
    mov [ss:VAR_SCRATCH + 2], es
    mov [ss:VAR_SCRATCH + 4], fs
    mov [ss:VAR_SCRATCH + 6], gs
    CHECK_FLAGS FL_ARITH | FL_VM | FL_IF | FL_TF | FL_NT | FL_RF, 0x8d5, "int 0x80 handler: flags"
    pushad
    mov ax, SEL_DATA32
    mov ds, ax
    lea ebx, [esp + 32]
    CHECK32 ebx, V_FRAME, "int 0x80 handler: esp"
    CHECK32 cs, SEL_CODE32, "int 0x80 handler: cs"
    CHECK32 ss, SEL_DATA32, "int 0x80 handler: ss"
    CHECK16 [VAR_SCRATCH], 0, "int 0x80 handler: ds null"
    CHECK16 [VAR_SCRATCH + 2], 0, "int 0x80 handler: es null"
    CHECK16 [VAR_SCRATCH + 4], 0, "int 0x80 handler: fs null"
    CHECK16 [VAR_SCRATCH + 6], 0, "int 0x80 handler: gs null"
    CHECK32 [ebx], v86_iopl3.int80_ret, "int 0x80 frame: eip"
    CHECK16 [ebx + 4], 0xf000, "int 0x80 frame: cs"
    CHECK32 [ebx + 8], FL_VM | FL_IOPL | 0x8d7, "int 0x80 frame: eflags"
    CHECK32 [ebx + 12], ebp, "int 0x80 frame: esp"
    CHECK16 [ebx + 16], V86_SS, "int 0x80 frame: ss"
    CHECK16 [ebx + 20], V86_ES, "int 0x80 frame: es"
    CHECK16 [ebx + 24], 0, "int 0x80 frame: ds"
    CHECK16 [ebx + 28], V86_FS, "int 0x80 frame: fs"
    CHECK16 [ebx + 32], V86_GS, "int 0x80 frame: gs"
    mov dword [VAR_SCRATCH + 8], 0x80
    popad
    iretd

int81_handler:
    mov ax, SEL_DATA32
    mov ds, ax
    FAIL "int from v86 mode went through a bad gate"

; ---- INT 0x83: leave V86 mode for good ----
v86_exit:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ebx, esp
    CHECK32 ebx, V_FRAME, "exit: esp"
    mov eax, [ebx + 8]
    and eax, FL_VM
    CHECK32 eax, FL_VM, "exit: frame eflags.vm"
    pushfd
    pop eax
    and eax, FL_VM
    CHECK32 eax, 0, "exit: vm clear in ring 0"
    mov esp, STACK0_TOP
    CHECK32 [0x10020], 0x0badcafe, "v86 write landed at linear 0x10020"
    PASS

CODE16
; ===== virtual-8086 mode, IOPL 0 =====
v86_start:
    mov ebp, esp
    CHECK32 ebp, V86_SP, "v86: esp"
    CHECK32 cs, 0xf000, "v86: cs"
    CHECK32 ss, V86_SS, "v86: ss"
    CHECK32 ds, 0, "v86: ds"
    CHECK32 es, V86_ES, "v86: es"
    CHECK32 fs, V86_FS, "v86: fs"
    CHECK32 gs, V86_GS, "v86: gs"
    CHECK32 [es:0x10], 0x5a5a1234, "v86: es base = es*16"
    CHECK32 [fs:0], 0x5a5a1234, "v86: fs base = fs*16"
    CHECK32 [gs:0], 0x600df00d, "v86: gs base = gs*16"
    CHECK32 [ss:0], 0x55aa55aa, "v86: ss base = ss*16"
    push es
    mov ax, 0x1002              ; base 0x10020
    mov es, ax
    mov dword [es:0], 0x0badcafe
    pop es
    CHECK32 [es:0x20], 0x0badcafe, "v86: segment load is real-mode style"

    ; ---- IOPL-sensitive instructions -> #GP(0) ----
    SET_RECOVERY .r_cli
.f_cli:
    cli
.r_cli:
    CHECK_EXC 13, 0, "v86 iopl 0: cli"
    CHECK32 [VAR_EXC_EIP], .f_cli, "v86 cli: ip"
    CHECK32 [VAR_EXC_CS], 0xf000, "v86 cli: cs"
    mov eax, [VAR_EXC_EFLAGS]
    and eax, ~(FL_RF | FL_ARITH)
    CHECK32 eax, FL_VM | 2, "v86 cli: pushed eflags"
    CHECK32 [VAR_EXC_ESP], V_FRAME, "v86 cli: frame on the esp0 stack"
    CHECK32 [V_FRAME + 12], ebp, "v86 cli: frame esp"
    CHECK16 [V_FRAME + 16], V86_SS, "v86 cli: frame ss"
    CHECK16 [V_FRAME + 20], V86_ES, "v86 cli: frame es"
    CHECK16 [V_FRAME + 24], 0, "v86 cli: frame ds"
    CHECK16 [V_FRAME + 28], V86_FS, "v86 cli: frame fs"
    CHECK16 [V_FRAME + 32], V86_GS, "v86 cli: frame gs"

    SET_RECOVERY .r_sti
.f_sti:
    sti
.r_sti:
    CHECK_EXC 13, 0, "v86 iopl 0: sti"
    CHECK32 [VAR_EXC_EIP], .f_sti, "v86 sti: ip"

    SET_RECOVERY .r_pushf
.f_pushf:
    pushf
.r_pushf:
    CHECK_EXC 13, 0, "v86 iopl 0: pushf"
    CHECK32 [VAR_EXC_EIP], .f_pushf, "v86 pushf: ip"
    mov ebx, esp
    CHECK32 ebx, ebp, "v86 pushf: nothing pushed"

    SET_RECOVERY .r_pushfd
.f_pushfd:
    pushfd
.r_pushfd:
    CHECK_EXC 13, 0, "v86 iopl 0: pushfd"
    CHECK32 [VAR_EXC_EIP], .f_pushfd, "v86 pushfd: ip"

    push word 0x0202
    SET_RECOVERY .r_popf
.f_popf:
    popf
.r_popf:
    CHECK_EXC 13, 0, "v86 iopl 0: popf"
    CHECK32 [VAR_EXC_EIP], .f_popf, "v86 popf: ip"
    add sp, 2

    SET_RECOVERY .r_int
.f_int:
    int 0x80
.r_int:
    CHECK_EXC 13, 0, "v86 iopl 0: int n"
    CHECK32 [VAR_EXC_EIP], .f_int, "v86 int n: ip"
    CHECK32 [VAR_SCRATCH + 8], 0, "v86 int n at iopl 0: handler not run"

    SET_RECOVERY .r_iret
.f_iret:
    iret
.r_iret:
    CHECK_EXC 13, 0, "v86 iopl 0: iret"
    CHECK32 [VAR_EXC_EIP], .f_iret, "v86 iret: ip"
    mov ebx, esp
    CHECK32 ebx, ebp, "v86 iret: nothing popped"

    ; ---- I/O bitmap ----
    out 0x80, al
    in al, 0x80
    CHECK_NO_EXC "v86 iopl 0: in/out port 0x80 (allowed)"
    SET_RECOVERY .r_out81
.f_out81:
    out 0x81, al
.r_out81:
    CHECK_EXC 13, 0, "v86 iopl 0: out port 0x81 (denied)"
    CHECK32 [VAR_EXC_EIP], .f_out81, "v86 out 0x81: ip"
    mov dx, 0x81
    SET_RECOVERY .r_in81
.f_in81:
    in al, dx
.r_in81:
    CHECK_EXC 13, 0, "v86 iopl 0: in port 0x81 (denied)"
    mov dx, 0x80
    SET_RECOVERY .r_outw
.f_outw:
    out dx, ax
.r_outw:
    CHECK_EXC 13, 0, "v86 iopl 0: word out to 0x80 (0x81 denied)"

    ; ---- ask the monitor for IOPL 3 ----
v86_magic:
    cli

; ===== virtual-8086 mode, IOPL 3 =====
v86_iopl3:
    pushfd
    pop eax
    and eax, FL_IOPL | FL_VM | FL_RF | FL_IF
    CHECK32 eax, FL_IOPL, "v86: iopl 3 from the monitor, pushfd has vm/rf clear"
    sti
    pushf
    pop ax
    and ax, FL_IF
    CHECK16 ax, FL_IF, "v86 iopl 3: sti sets if"
    cli
    pushf
    pop ax
    and ax, FL_IF
    CHECK16 ax, 0, "v86 iopl 3: cli clears if"
    CHECK_NO_EXC "v86 iopl 3: cli/sti/pushf"

    push word 0x0002            ; IOPL 0 in the image
    popf
    pushf
    pop ax
    CHECK16 ax, 0x3002, "v86 iopl 3: popf keeps iopl"
    push dword FL_RF | 0x0ad7   ; IOPL 0, RF 1, VM 0, IF 1
    popfd
    pushfd
    pop eax
    CHECK32 eax, 0x3ad7, "v86 iopl 3: popfd keeps iopl/vm"
    cli
    CHECK32 [es:0x10], 0x5a5a1234, "v86 iopl 3: still in v86 mode"

    mov ebp, esp
    push word 0x0802            ; OF, IOPL 0 in the image
    push cs
    push word .iret_target
    iret
    FAIL "v86 iopl 3: iret"
.iret_target:
    pushf
    pop ax
    CHECK16 ax, 0x3802, "v86 iopl 3: iret flags, iopl kept"
    mov ebx, esp
    CHECK32 ebx, ebp, "v86 iopl 3: iret pops 3 words"
    CHECK_NO_EXC "v86 iopl 3: iret"

    ; ---- INT n through the IDT ----
    mov ebp, esp
    push word 0x08d7            ; arithmetic flags, IF 0
    popf
.int80:
    int 0x80
.int80_ret:
    CHECK_FLAGS FL_ARITH | FL_IF | FL_IOPL, 0x8d5 | FL_IOPL, "v86 int 0x80: flags after iretd"
    mov ebx, esp
    CHECK32 ebx, ebp, "v86 int 0x80: esp after iretd"
    CHECK32 [VAR_SCRATCH + 8], 0x80, "v86 int 0x80: handler ran"
    CHECK32 cs, 0xf000, "v86 int 0x80: cs restored"
    CHECK32 ss, V86_SS, "v86 int 0x80: ss restored"
    CHECK32 ds, 0, "v86 int 0x80: ds restored"
    CHECK32 es, V86_ES, "v86 int 0x80: es restored"
    CHECK32 fs, V86_FS, "v86 int 0x80: fs restored"
    CHECK32 gs, V86_GS, "v86 int 0x80: gs restored"
    CHECK32 [gs:0], 0x600df00d, "v86 int 0x80: gs base restored"

    SET_RECOVERY .r_int81
.f_int81:
    int 0x81
.r_int81:
    CHECK_EXC 13, 0x81 * 8 + 2, "v86 int through a dpl-0 gate"
    CHECK32 [VAR_EXC_EIP], .f_int81, "v86 int 0x81: ip"

    SET_RECOVERY .r_int82
.f_int82:
    int 0x82
.r_int82:
    CHECK_EXC 13, SEL_CODE32_R3 & ~3, "v86 int to a dpl-3 code segment"
    CHECK32 [VAR_EXC_EIP], .f_int82, "v86 int 0x82: ip"

    ; ---- the I/O bitmap applies whatever the IOPL ----
    out 0x80, al
    CHECK_NO_EXC "v86 iopl 3: out port 0x80"
    SET_RECOVERY .r_out81b
.f_out81b:
    out 0x81, al
.r_out81b:
    CHECK_EXC 13, 0, "v86 iopl 3: out port 0x81 still denied"
    CHECK32 [VAR_EXC_EIP], .f_out81b, "v86 iopl 3 out 0x81: ip"

    int 0x83
    FAIL "v86: int 0x83 returned"

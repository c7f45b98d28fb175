; rings.asm: privilege-level changes between ring 0 and ring 3 through IRETD,
; interrupt gates and trap gates.
;
; Checks, and the SDM text they follow:
;  - IRETD from CPL 0 to CPL 3 (SDM Vol 2 IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL):
;    CS/SS/ESP/EFLAGS come from the frame (CS and SS RPL 3); DS and ES holding DPL-0
;    data selectors are loaded with the null selector, FS holding a DPL-3 data
;    selector and GS holding a conforming code selector are kept; a memory access
;    through the nulled ES raises #GP(0); loading a DPL-0 data selector at CPL 3
;    raises #GP(selector) (SDM Vol 2 MOV, "segment selector ... DPL < CPL").
;  - POPFD at CPL 3 with IOPL 0 leaves IF and IOPL alone without faulting
;    (SDM Vol 2 POPF).
;  - INT n from CPL 3 through a DPL-3 32-bit interrupt gate (SDM Vol 2 INT n,
;    INTER-PRIVILEGE-LEVEL-INTERRUPT; Vol 3 6.12.1, Figure 6-4): SS:ESP from TSS
;    SS0:ESP0, frame EIP, CS, EFLAGS, old ESP, old SS on the ESP0 stack, IF/TF/NT/
;    RF/VM cleared, arithmetic flags kept, DS not touched by the interrupt; IRETD
;    back to CPL 3 restores ESP/EFLAGS and nulls a DS the handler loaded with a
;    DPL-0 selector.
;  - INT n through a DPL-3 trap gate: IF is kept (SDM Vol 3 6.12.1.2).
;  - INT n at CPL 3 through a DPL-0 gate: #GP(vector*8+2), faulting EIP = the INT
;    (SDM Vol 2 INT n: "IF software interrupt AND gate DPL < CPL THEN
;    #GP(vector_number << 3 + 2)").
;  - INT1 (F1) at CPL 3 through the DPL-0 #DB gate: #DB with the next
;    instruction's EIP, no gate DPL check (SDM Vol 2 INT n/INTO/INT3/INT1:
;    the DPL check "does not apply to INT1"). Outside QEMU (QEMU 7.2: #UD).
;  - CLI at CPL 3 with IOPL 0: #GP(0) (SDM Vol 2 CLI); the exception frame is on the
;    ESP0 stack and holds the ring-3 ESP and SS (SDM Vol 3 6.12.1). Outside QEMU:
;    the pushed EFLAGS has RF=1, as for every fault-class exception (Vol 3
;    17.3.1.1); QEMU 7.2 pushes RF=0.
;  - INT n and an exception at CPL 0: same-privilege frame, no SS:ESP pushed
;    (SDM Vol 3 6.12.1, Figure 6-4 "Stack Usage with No Privilege-Level Change").
%include "rom.inc"
%include "gates.inc"

SEL_CONF0       equ SEL_FREE        ; conforming code, DPL 0 (readable)
R3_ESP          equ 0x8f00
FRAME_EIP       equ STACK_ESP0_TOP - 20     ; where EIP lands on the ESP0 stack
FL_TEST         equ 0x8d5 | 0x202           ; all arithmetic flags, IF, bit 1

CODE16
main:
    ENTER_PM32 pm_main

CODE32

pm_main:
    PRINT "rings: ring 0 -> ring 3 by IRETD", 10
    mov al, 0xff                ; mask every PIC input: IF is set at CPL 3 below
    out 0x21, al
    out 0xa1, al
    call setup_iomap
    SETDESC SEL_CONF0, 0, 0xfffff, 0x9f, FLG_4K32
    GATE 0x80, SEL_CODE32, int80_handler, 0xee00   ; interrupt gate, DPL 3
    GATE 0x81, SEL_CODE32, int81_handler, 0xef00   ; trap gate, DPL 3
    GATE 0x82, SEL_CODE32, int82_handler, 0x8e00   ; interrupt gate, DPL 0
    GATE 0x83, SEL_CODE32, back_to_ring0, 0xee00   ; interrupt gate, DPL 3
    GATE 0x84, SEL_CODE32, int84_handler, 0x8e00   ; interrupt gate, DPL 0
    mov ax, SEL_TSS
    ltr ax

    ; segment registers for the IRET to CPL 3
    mov ax, SEL_DATA32          ; DPL 0 data: nulled
    mov ds, ax
    mov ax, SEL_DATA16          ; DPL 0 data: nulled
    mov es, ax
    mov ax, SEL_DATA32_R3       ; DPL 3 data: kept
    mov fs, ax
    mov ax, SEL_CONF0           ; conforming code: kept
    mov gs, ax
    push dword SEL_DATA32_R3
    push dword R3_ESP
    push dword FL_TEST
    push dword SEL_CODE32_R3
    push dword ring3_start
    iretd

ring3_start:
    CHECK_FLAGS 0x3f7fd7, FL_TEST, "iretd: eflags at cpl 3"
    mov ebp, esp
    mov esi, ds
    mov edi, es
    mov ax, SEL_DATA32_R3
    mov ds, ax
    CHECK32 ebp, R3_ESP, "iretd: esp"
    CHECK32 cs, SEL_CODE32_R3, "iretd: cs"
    CHECK32 ss, SEL_DATA32_R3, "iretd: ss"
    CHECK32 esi, 0, "iretd: ds (dpl 0) nulled"
    CHECK32 edi, 0, "iretd: es (dpl 0) nulled"
    CHECK32 fs, SEL_DATA32_R3, "iretd: fs (dpl 3) kept"
    CHECK32 gs, SEL_CONF0, "iretd: gs (conforming code) kept"

%ifndef QEMU
    ; the nulled ES really is null: a memory access through it faults (SDM Vol 3
    ; 3.4.2: using a null selector to access memory raises #GP(0); QEMU 7.2 does not
    ; check null data segments on access)
    SET_RECOVERY .after_null
.null_access:
    mov eax, [es:VAR_SCRATCH]
.after_null:
    CHECK_EXC 13, 0, "access through nulled es"
    CHECK32 [VAR_EXC_EIP], .null_access, "access through nulled es: eip"
%endif

    ; CPL is 3: a DPL-0 data selector cannot be loaded
    SET_RECOVERY .after_load
.load_dpl0:
    mov ax, SEL_DATA32
    mov es, ax
.after_load:
    CHECK_EXC 13, SEL_DATA32, "load dpl-0 data at cpl 3"
    CHECK32 [VAR_EXC_EIP], .load_dpl0 + 4, "load dpl-0 data at cpl 3: eip"
    CHECK32 es, 0, "es unchanged after the failed load"
    mov ax, SEL_DATA32_R3
    mov es, ax

    ; POPFD at CPL 3, IOPL 0: IF and IOPL are not changed, no fault
    push dword 0x3000 | 0x8d5 | 2       ; IF=0, IOPL=3
    popfd
    CHECK_FLAGS FL_IF | FL_IOPL | FL_ARITH, FL_IF | 0x8d5, "popfd at cpl 3 keeps if/iopl"
    CHECK_NO_EXC "popfd at cpl 3"

    ; ---- INT 0x80: DPL-3 interrupt gate to ring 0 ----
    mov ebp, esp
    push dword FL_TEST
    popfd
.int80:
    int 0x80
.int80_ret:
    CHECK_FLAGS 0x3f7fd7, FL_TEST, "int 0x80: eflags after iretd"
    mov ebx, esp
    mov esi, ds
    mov ax, SEL_DATA32_R3
    mov ds, ax
    CHECK32 ebx, ebp, "int 0x80: esp after iretd"
    CHECK32 cs, SEL_CODE32_R3, "int 0x80: cs after iretd"
    CHECK32 ss, SEL_DATA32_R3, "int 0x80: ss after iretd"
    CHECK32 esi, 0, "iretd nulls ds the handler loaded with dpl 0"
    CHECK32 [VAR_SCRATCH], 0x80, "int 0x80 handler ran"

    ; ---- INT 0x81: DPL-3 trap gate ----
    push dword 0x202
    popfd
.int81:
    int 0x81
.int81_ret:
    CHECK_FLAGS 0x3f7fd7, 0x202, "int 0x81: eflags after iretd"
    CHECK32 [VAR_SCRATCH], 0x81, "int 0x81 handler ran"
    mov ebx, esp
    CHECK32 ebx, ebp, "int 0x81: esp after iretd"

    ; ---- INT 0x82: DPL-0 gate from CPL 3 -> #GP(0x82*8+2) ----
    SET_RECOVERY .after82
.int82:
    int 0x82
.after82:
    CHECK_EXC 13, 0x82 * 8 + 2, "int 0x82 through a dpl-0 gate"
    CHECK32 [VAR_EXC_EIP], .int82, "int 0x82 #gp: eip"
    CHECK16 [VAR_EXC_CS], SEL_CODE32_R3, "int 0x82 #gp: cs"

%ifndef QEMU
    ; ---- INT1 (F1) at CPL 3 through the DPL-0 #DB gate: no DPL check, a
    ; trap-like #DB (QEMU 7.2 raises #UD for F1) ----
    SET_RECOVERY .after_int1
.int1:
    int1
.after_int1:
    CHECK_EXC 1, 0xffffffff, "int1 at cpl 3 through a dpl-0 gate"
    CHECK32 [VAR_EXC_EIP], .after_int1, "int1: eip = the next instruction"
    CHECK16 [VAR_EXC_CS], SEL_CODE32_R3, "int1: cs"
%endif

    ; ---- CLI at CPL 3, IOPL 0 -> #GP(0), frame on the ESP0 stack ----
    push dword 0x202
    popfd
    mov ebp, esp
    SET_RECOVERY .after_cli
.cli:
    cli
.after_cli:
    CHECK_EXC 13, 0, "cli at cpl 3 iopl 0"
    CHECK32 [VAR_EXC_EIP], .cli, "cli #gp: eip"
    CHECK16 [VAR_EXC_CS], SEL_CODE32_R3, "cli #gp: cs"
    CHECK32 [VAR_EXC_ESP], FRAME_EIP, "cli #gp: frame on the esp0 stack"
    mov eax, [VAR_EXC_EFLAGS]
    and eax, ~FL_RF
    CHECK32 eax, 0x202, "cli #gp: pushed eflags"
%ifndef QEMU
    ; SDM Vol 3 17.3.1.1: a fault-class exception pushes RF=1 (QEMU pushes 0)
    CHECK32 [VAR_EXC_EFLAGS], 0x202 | FL_RF, "cli #gp: pushed eflags.rf"
%endif
    CHECK32 [FRAME_EIP + 12], ebp, "cli #gp: ring-3 esp in the frame"
    CHECK16 [FRAME_EIP + 16], SEL_DATA32_R3, "cli #gp: ring-3 ss in the frame"
    CHECK_FLAGS FL_IF, FL_IF, "cli #gp: if still set"

    ; back to ring 0 for good
    int 0x83

int80_handler:
    CHECK_FLAGS FL_ARITH | FL_IF | FL_TF | FL_NT | FL_RF | FL_VM, 0x8d5, "int 0x80 handler: eflags"
    mov ebx, esp
    CHECK32 ebx, FRAME_EIP, "int 0x80 handler: esp (esp0 - 20)"
    CHECK32 cs, SEL_CODE32, "int 0x80 handler: cs"
    CHECK32 ss, SEL_DATA32, "int 0x80 handler: ss (ss0)"
    CHECK32 ds, SEL_DATA32_R3, "int 0x80 handler: ds untouched"
    CHECK32 [ebx], ring3_start.int80_ret, "int 0x80 frame: eip"
    CHECK16 [ebx + 4], SEL_CODE32_R3, "int 0x80 frame: cs"
    CHECK32 [ebx + 8], FL_TEST, "int 0x80 frame: eflags"
    CHECK32 [ebx + 12], ebp, "int 0x80 frame: esp"
    CHECK16 [ebx + 16], SEL_DATA32_R3, "int 0x80 frame: ss"
    mov dword [VAR_SCRATCH], 0x80
    mov ax, SEL_DATA32          ; DPL 0: the IRETD to CPL 3 must null DS
    mov ds, ax
    iretd

int81_handler:
    CHECK_FLAGS FL_IF | FL_TF | FL_NT | FL_RF | FL_VM, FL_IF, "int 0x81 (trap gate): if kept"
    mov ebx, esp
    CHECK32 ebx, FRAME_EIP, "int 0x81 handler: esp"
    CHECK32 [ebx], ring3_start.int81_ret, "int 0x81 frame: eip"
    CHECK32 [ebx + 8], 0x202, "int 0x81 frame: eflags"
    CHECK32 [ebx + 12], ebp, "int 0x81 frame: esp"
    CHECK16 [ebx + 16], SEL_DATA32_R3, "int 0x81 frame: ss"
    mov dword [VAR_SCRATCH], 0x81
    iretd

int82_handler:
    mov ax, SEL_DATA32
    mov ds, ax
    FAIL "int 0x82 went through a dpl-0 gate from cpl 3"

back_to_ring0:
    mov ebx, esp
    CHECK32 ebx, FRAME_EIP, "int 0x83: esp"
    CHECK16 [ebx + 4], SEL_CODE32_R3, "int 0x83: frame cs"
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, STACK0_TOP
    PRINT "rings: ring 0 -> ring 0 interrupt", 10

    ; ---- INT 0x84 at CPL 0: no stack switch, no SS:ESP in the frame ----
    push dword 0x5a5a5a5a
    mov ebp, esp
    push dword 0x8d5 | 2
    popfd
.int84:
    int 0x84
.int84_ret:
    CHECK_FLAGS 0x3f7fd7, 0x8d7, "int 0x84: eflags after iretd"
    mov ebx, esp
    CHECK32 ebx, ebp, "int 0x84: esp after iretd"
    CHECK32 [VAR_SCRATCH], 0x84, "int 0x84 handler ran"

    ; ---- an exception at CPL 0: same-privilege frame with error code ----
    SET_RECOVERY .after_gp
.gp:
    mov ax, SEL_FREE + 8        ; empty descriptor
    mov es, ax
.after_gp:
    CHECK_EXC 13, SEL_FREE + 8, "load of an empty descriptor at cpl 0"
    lea ecx, [ebp - 12]
    CHECK32 [VAR_EXC_ESP], ecx, "cpl-0 #gp: frame right below the old esp"
    CHECK32 [ebp], 0x5a5a5a5a, "cpl-0 #gp: no ss:esp pushed"
    PASS

int84_handler:
    CHECK_FLAGS FL_ARITH | FL_IF, 0x8d5, "int 0x84 handler: eflags"
    mov ebx, esp
    lea ecx, [ebp - 12]
    CHECK32 ebx, ecx, "int 0x84 handler: esp (3 dwords pushed)"
    CHECK32 ss, SEL_DATA32, "int 0x84 handler: ss"
    CHECK32 [ebx], back_to_ring0.int84_ret, "int 0x84 frame: eip"
    CHECK16 [ebx + 4], SEL_CODE32, "int 0x84 frame: cs"
    CHECK32 [ebx + 8], 0x8d7, "int 0x84 frame: eflags"
    CHECK32 [ebx + 12], 0x5a5a5a5a, "int 0x84 frame: nothing above eflags"
    mov dword [VAR_SCRATCH], 0x84
    iretd

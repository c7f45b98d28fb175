; sysenter.asm: SYSENTER / SYSEXIT and their MSRs.
;
; GDT slice for IA32_SYSENTER_CS = 0x40: 0x40 code DPL 0, 0x48 data DPL 0, 0x50 code
; DPL 3, 0x58 data DPL 3. The DPL-0 data descriptor at 0x48 deliberately has base
; 0x10000: SYSENTER does not read the GDT, it loads a fixed flat SS.
;
; Checks, and the SDM text they follow (SDM Vol 2 SYSENTER, SYSEXIT, RDMSR, WRMSR;
; Vol 3 5.8.7 "Performing Fast Calls to System Procedures with the SYSENTER and
; SYSEXIT Instructions"):
;  - WRMSR/RDMSR of IA32_SYSENTER_CS/ESP/EIP (0x174-0x176) read back what was
;    written; RDMSR at CPL 3: #GP(0).
;  - SYSEXIT from CPL 0: CS = (MSR+16)|3, SS = (MSR+24)|3, ESP = ECX, EIP = EDX,
;    CPL 3 (a DPL-0 data load faults); EFLAGS are not changed (IF stays whatever it
;    was); DS/ES are not touched.
;  - SYSENTER from CPL 3: CS = MSR & 0xFFFC, SS = CS + 8, ESP/EIP from the MSRs,
;    IF/VM/RF cleared, the other flags kept, DS untouched, ECX/EDX untouched; SS is
;    flat (base 0) whatever the GDT says; CPL 0.
;  - SYSEXIT at CPL 3: #GP(0).
;  - IA32_SYSENTER_CS = 0: SYSENTER at CPL 0 and CPL 3 and SYSEXIT at CPL 0 raise
;    #GP(0) (the CPL-3 one delivered on the ESP0 stack with the ring-3 SS:ESP).
;    Outside QEMU: IA32_SYSENTER_CS = 3 also raises #GP(0) for both, as the SDM
;    tests bits 15:2 ("IF IA32_SYSENTER_CS[15:2] = 0 THEN #GP(0)"); QEMU 7.2 tests
;    the whole value for zero.
;  - IA32_SYSENTER_CS = 0x43 (RPL bits set): SYSENTER loads CS 0x40 / SS 0x48,
;    SYSEXIT loads CS 0x53 / SS 0x5b.
;  - SYSENTER from virtual-8086 mode (Vol 2 SYSENTER: "EFLAGS.VM <- 0", Virtual-8086
;    Mode Exceptions: same as protected mode): arrives in 32-bit CPL 0 with VM=0.
%include "rom.inc"
%include "gates.inc"

SLICE           equ SEL_FREE    ; 0x40
SEL_C0          equ SLICE
SEL_D0          equ SLICE + 8
SEL_C3          equ SLICE + 16 + 3
SEL_D3          equ SLICE + 24 + 3
MSR_CS          equ 0x174
MSR_ESP         equ 0x175
MSR_EIP         equ 0x176
SYS_ESP         equ 0x7800
FLAT_MARK       equ VAR_SCRATCH + 0x40
R3_ESP          equ 0x8f00

%macro WRMSR_ 2
    mov ecx, %1
    mov eax, %2
    xor edx, edx
    wrmsr
%endmacro

; FAULTS {instruction}, "what": the instruction raises #GP(0), EIP at it
%macro FAULTS 2+
    SET_RECOVERY %%after
%%insn:
    %1
%%after:
    CHECK_EXC 13, 0, %2
    CHECK32 [VAR_EXC_EIP], %%insn, %2, " (eip)"
%endmacro

%macro RING0 0
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0_TOP
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32

pm_main:
    PRINT "sysenter: setup", 10
    mov al, 0xff                ; mask every PIC input: IF is set at CPL 3 below
    out 0x21, al
    out 0xa1, al
    ; I/O bitmap so that a failed check at CPL 3 can still report
    mov word [GDT_BASE + SEL_TSS], 0x87
    mov edi, TSS_BASE + 0x68
    mov eax, 0xffffffff
    mov ecx, 8
    rep stosd
    and byte [TSS_BASE + 0x68 + 0xe9 / 8], ~(1 << (0xe9 & 7))
    and byte [TSS_BASE + 0x68 + 0xf4 / 8], ~(1 << (0xf4 & 7))
    mov word [TSS_BASE + 0x66], 0x68
    SETDESC SEL_C0, 0, 0xfffff, 0x9b, FLG_4K32
    SETDESC SEL_D0, 0x10000, 0xfffff, 0x93, FLG_4K32  ; not what SYSENTER loads
    SETDESC SEL_C3 & ~3, 0, 0xfffff, 0xfb, FLG_4K32
    SETDESC SEL_D3 & ~3, 0, 0xfffff, 0xf3, FLG_4K32
    mov dword [FLAT_MARK], 0x0f1a7000
    mov dword [FLAT_MARK + 0x10000], 0xbad0bad0
    GATE 0x80, SEL_CODE32, phase3, 0xee00
    GATE 0x81, SEL_CODE32, phase4, 0xee00
    GATE 0x82, SEL_CODE32, finish, 0xee00
    mov ax, SEL_TSS
    ltr ax

    ; ---- MSRs ----
    WRMSR_ MSR_CS, SEL_C0
    WRMSR_ MSR_ESP, SYS_ESP
    WRMSR_ MSR_EIP, entry1
    mov ecx, MSR_CS
    rdmsr
    CHECK32 eax, SEL_C0, "rdmsr sysenter_cs"
    mov esi, edx                ; (CHECK32 cannot take EDX as "got")
    CHECK32 esi, 0, "rdmsr sysenter_cs: edx"
    mov ecx, MSR_ESP
    rdmsr
    CHECK32 eax, SYS_ESP, "rdmsr sysenter_esp"
    mov esi, edx                ; (CHECK32 cannot take EDX as "got")
    CHECK32 esi, 0, "rdmsr sysenter_esp: edx"
    mov ecx, MSR_EIP
    rdmsr
    CHECK32 eax, entry1, "rdmsr sysenter_eip"
    mov esi, edx                ; (CHECK32 cannot take EDX as "got")
    CHECK32 esi, 0, "rdmsr sysenter_eip: edx"

    ; ---- SYSEXIT from CPL 0 to CPL 3 ----
    PRINT "sysenter: sysexit/sysenter", 10
    mov ecx, R3_ESP
    mov edx, ring3_start
    push dword 0x0ad7           ; IF and all arithmetic flags
    popfd
    sysexit

ring3_start:
    CHECK_FLAGS 0x3f7fd7, 0x0ad7, "sysexit: eflags unchanged"
    mov ebp, esp
    CHECK32 ebp, R3_ESP, "sysexit: esp = ecx"
    CHECK32 cs, SEL_C3, "sysexit: cs = msr + 16 | 3"
    CHECK32 ss, SEL_D3, "sysexit: ss = msr + 24 | 3"
    CHECK32 ds, SEL_DATA32, "sysexit: ds untouched"
    CHECK32 es, SEL_DATA32, "sysexit: es untouched"
    mov ax, SEL_D3
    mov ds, ax
    mov es, ax
    ; CPL 3
    SET_RECOVERY .after_load
.load:
    mov ax, SEL_DATA32
    mov es, ax
.after_load:
    CHECK_EXC 13, SEL_DATA32, "after sysexit: dpl-0 data load at cpl 3"
    mov ecx, MSR_CS
    FAULTS rdmsr, "rdmsr at cpl 3"

    ; ---- SYSENTER from CPL 3 ----
    mov ecx, 0x8e00
    mov edx, .back1
    mov dword [VAR_SCRATCH], 0
    push dword 0x0ad7
    popfd
    sysenter
.back1:
    CHECK_FLAGS 0x3f7fd7, 0x00c3, "second sysexit: eflags as the handler left them"
    mov ebx, esp
    CHECK32 ebx, 0x8e00, "second sysexit: esp = ecx"
    CHECK32 cs, SEL_C3, "second sysexit: cs"
    CHECK32 ss, SEL_D3, "second sysexit: ss"
    CHECK32 ds, SEL_D3, "second sysexit: ds"
    CHECK32 es, SEL_DATA32, "second sysexit: es as the handler left it"
    CHECK32 [VAR_SCRATCH], 1, "sysenter handler ran"
    mov ax, SEL_D3
    mov es, ax

    ; ---- SYSEXIT at CPL 3 ----
    mov ecx, 0x8e00
    mov edx, .back1
    FAULTS sysexit, "sysexit at cpl 3"
    CHECK32 cs, SEL_C3, "sysexit at cpl 3: still cpl 3"
    int 0x80

entry1:
    CHECK_FLAGS 0x3f7fd7, 0x08d7, "sysenter: if cleared, other flags kept"
    mov ebx, esp
    CHECK32 ebx, SYS_ESP, "sysenter: esp"
    CHECK32 cs, SEL_C0, "sysenter: cs"
    CHECK32 ss, SEL_D0, "sysenter: ss = cs + 8"
    CHECK32 ds, SEL_D3, "sysenter: ds untouched"
    CHECK32 ecx, 0x8e00, "sysenter: ecx untouched"
    mov esi, edx                ; (CHECK32 cannot take EDX as "got")
    CHECK32 esi, ring3_start.back1, "sysenter: edx untouched"
    CHECK32 [ss:FLAT_MARK], 0x0f1a7000, "sysenter: ss base 0 (not from the gdt)"
    push dword 0x12345678
    CHECK32 [SYS_ESP - 4], 0x12345678, "sysenter: push lands at linear esp - 4"
    add esp, 4
    ; CPL 0: a DPL-0 data selector loads
    mov ax, SEL_DATA32
    mov es, ax
    CHECK_NO_EXC "sysenter: dpl-0 data load at cpl 0"
    mov dword [VAR_SCRATCH], 1
    push dword 0x00c3           ; IF 0, CF ZF SF
    popfd
    sysexit

phase3:
    RING0
    PRINT "sysenter: sysenter_cs = 0", 10
    WRMSR_ MSR_CS, 0
    mov ecx, R3_ESP
    mov edx, ring3_start
    FAULTS sysexit, "sysexit with sysenter_cs = 0"
    FAULTS sysenter, "sysenter at cpl 0 with sysenter_cs = 0"
%ifndef QEMU
    ; SDM Vol 2 SYSENTER/SYSEXIT: "IF IA32_SYSENTER_CS[15:2] = 0 THEN #GP(0)";
    ; QEMU 7.2 only faults for the value 0
    WRMSR_ MSR_CS, 3
    mov ecx, R3_ESP
    mov edx, ring3_start
    FAULTS sysexit, "sysexit with sysenter_cs = 3"
    FAULTS sysenter, "sysenter with sysenter_cs = 3"
    WRMSR_ MSR_CS, 0
%endif
    mov ax, SEL_D3
    mov ds, ax
    mov es, ax
    push dword SEL_D3
    push dword R3_ESP
    push dword 2
    push dword SEL_C3
    push dword phase3_r3
    iretd

phase3_r3:
    mov ebp, esp
    FAULTS sysenter, "sysenter at cpl 3 with sysenter_cs = 0"
    CHECK32 [VAR_EXC_ESP], STACK_ESP0_TOP - 20, "sysenter #gp at cpl 3: frame on the esp0 stack"
    CHECK16 [VAR_EXC_CS], SEL_C3, "sysenter #gp at cpl 3: cs"
    CHECK32 [STACK_ESP0_TOP - 8], ebp, "sysenter #gp at cpl 3: frame esp"
    CHECK16 [STACK_ESP0_TOP - 4], SEL_D3, "sysenter #gp at cpl 3: frame ss"
    int 0x81

phase4:
    RING0
    PRINT "sysenter: from v86 mode, sysenter_cs = 0x43", 10
    WRMSR_ MSR_CS, SEL_C0 | 3
    WRMSR_ MSR_EIP, entry2
    mov dword [VAR_SCRATCH], 0
    push dword 0                ; GS
    push dword 0                ; FS
    push dword 0                ; DS
    push dword 0                ; ES
    push dword 0x0800           ; SS
    push dword 0x1000           ; ESP
    push dword FL_VM | FL_IF | 2
    push dword 0xf000
    push dword v86_code
    iretd

entry2:
    CHECK_FLAGS FL_VM | FL_IF | FL_RF, 0, "sysenter from v86: vm/if cleared"
    mov ebx, esp
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    CHECK32 ebx, SYS_ESP, "sysenter from v86: esp"
    CHECK32 cs, SEL_C0, "sysenter (msr 0x43): cs = 0x40"
    CHECK32 ss, SEL_D0, "sysenter (msr 0x43): ss = 0x48"
    CHECK32 [ss:FLAT_MARK], 0x0f1a7000, "sysenter from v86: ss base 0"
    CHECK32 ecx, 0x8d00, "sysenter from v86: ecx"
    mov esi, edx                ; (CHECK32 cannot take EDX as "got")
    CHECK32 esi, back2, "sysenter from v86: edx"
    mov dword [VAR_SCRATCH], 2
    sysexit

back2:
    mov ebx, esp
    CHECK32 ebx, 0x8d00, "sysexit (msr 0x43): esp"
    CHECK32 cs, SEL_C3, "sysexit (msr 0x43): cs = 0x53"
    CHECK32 ss, SEL_D3, "sysexit (msr 0x43): ss = 0x5b"
    CHECK32 [VAR_SCRATCH], 2, "sysenter from v86: handler ran"
    int 0x82

finish:
    RING0
    PASS

CODE16
v86_code:
    mov ecx, 0x8d00
    mov edx, back2
    sysenter
    hlt

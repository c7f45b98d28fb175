; doublefault.asm: exceptions raised while delivering another exception or interrupt,
; in 32-bit protected mode.
;
; SDM Vol. 3A 6.15 "Interrupt 8-Double Fault Exception (#DF)", tables 6-4 "Interrupt and
; Exception Classes" and 6-5 "Conditions for Generating a Double Fault"; 6.13 "Error
; Code" (IDT bit 1 set when the selector refers to an IDT gate; EXT bit 0 set when the
; exception occurred while delivering an event external to the program, i.e. another
; exception, not for INT n); "Task Management": "Task Switching" (a task gate in the
; IDT), "Task Linking" (back link, NT, busy bit, IRET task return).
;   #DF (vector 8, error code 0) for contributory + contributory:
;       #GP whose gate is not present (-> #NP)          : #DF
;       #GP whose gate has an invalid type (-> #GP)      : #DF
;       #DE whose gate is not present (-> #NP)          : #DF
;     and for page fault + contributory / page fault:
;       #PF whose gate is not present (-> #NP)          : #DF, CR2 = the first fault's address
;       #PF while pushing the #PF frame (stack page not present): #DF through a task gate
;           to a second TSS (its own stack): error code 0 on the new stack, back link =
;           the old TSS, NT=1 in the handler task, TR = the new TSS; the handler writes
;           a recovery EIP into the old TSS and IRETs back (task return). The first
;           fault is on another page: CR2 holds the second fault's address (CR2 is
;           loaded as each #PF is detected, 6.15 "Interrupt 14").
;     The saved CS:EIP of #DF is undefined (SDM): not checked.
;   Serial delivery (benign first exception, or a software INT n):
;       INT3 with a not-present gate: #NP(3*8+2), saved EIP = the INT3
;       INT 40h through an all-zero IDT entry: #GP(40h*8+2) (type checked before P)
;       INT 41h with a not-present gate: #NP(41h*8+2)
;       INT 50h past the IDT limit (LIDT limit 1FFh): #GP(50h*8+2)
;       INT3 with a gate of an invalid type: #GP(3*8+2)
;       #UD (benign) with a not-present gate: #NP(6*8+2+1) - EXT set, Bochs only: QEMU
;           7.2 never sets EXT in error codes from gate checks.
%include "rom.inc"

; GATE_P vector, 0/1: clear or set the present bit of an IDT gate
%macro GATE_P 2
%if %2
    or byte [IDT_BASE + (%1)*8 + 5], 0x80
%else
    and byte [IDT_BASE + (%1)*8 + 5], 0x7f
%endif
%endmacro

SEL_DFTSS   equ 0x40
DFTSS_BASE  equ 0x11000
DF_STACK    equ 0x12000
PD_BASE     equ 0x20000
CR0_PG      equ 0x80000000
R           equ VAR_SCRATCH + 0x40  ; what the #DF task records

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "doublefault: protected mode", 10
    mov ax, SEL_TSS
    ltr ax

    ; ---------------- contributory + contributory -> #DF (interrupt gate 8) ----------------
    GATE_P 13, 0
    SET_RECOVERY .a1
    xor eax, eax
    mov ss, ax                      ; #GP(0), gate 13 not present -> #NP -> #DF
.a1:
    GATE_P 13, 1
    CHECK_EXC 8, 0, "#GP with gate 13 not present: #DF(0)"
    CHECK32 [VAR_EXC_CS], SEL_CODE32, "#DF: saved cs"
    CHECK_SEG ss, SEL_DATA32, "#DF: ss unchanged"
    mov eax, [IDT_BASE + 13*8 + 4]
    mov [VAR_SCRATCH], eax
    mov byte [IDT_BASE + 13*8 + 5], 0x80    ; present, type 0: not a gate
    SET_RECOVERY .a3
    xor eax, eax
    mov ss, ax                      ; #GP(0), gate 13 invalid -> #GP -> #DF
.a3:
    mov eax, [VAR_SCRATCH]
    mov [IDT_BASE + 13*8 + 4], eax
    CHECK_EXC 8, 0, "#GP with an invalid gate 13: #DF(0)"
    GATE_P 0, 0
    SET_RECOVERY .a5
    xor ecx, ecx
    div ecx                         ; #DE, gate 0 not present -> #NP -> #DF
.a5:
    GATE_P 0, 1
    CHECK_EXC 8, 0, "#DE with gate 0 not present: #DF(0)"

    ; ---------------- benign / software first: serial ----------------
    GATE_P 3, 0
    SET_RECOVERY .b1
.b0:
    int3
.b1:
    GATE_P 3, 1
    CHECK_EXC 11, 3*8 + 2, "int3, gate not present: #NP(idt), not #DF"
    CHECK32 [VAR_EXC_EIP], .b0, "int3, gate not present: eip = the int3"
    SET_RECOVERY .b3
.b2:
    int 0x40                        ; gates 32-255 are all-zero: type 0 is checked first
.b3:
    CHECK_EXC 13, 0x40*8 + 2, "int 40h, empty descriptor: #GP(idt)"
    CHECK32 [VAR_EXC_EIP], .b2, "int 40h: eip = the int"
    mov eax, [IDT_BASE + 3*8]       ; gate 41h = gate 3 with P=0
    mov [IDT_BASE + 0x41*8], eax
    mov eax, [IDT_BASE + 3*8 + 4]
    and eax, ~0x8000
    mov [IDT_BASE + 0x41*8 + 4], eax
    SET_RECOVERY .b3b
.b2b:
    int 0x41
.b3b:
    CHECK_EXC 11, 0x41*8 + 2, "int 41h, gate not present: #NP(idt)"
    CHECK32 [VAR_EXC_EIP], .b2b, "int 41h: eip = the int"
    lidt [idtr_short]
    SET_RECOVERY .b5
.b4:
    int 0x50                        ; past the IDT limit
.b5:
    lidt [idtr_full]
    CHECK_EXC 13, 0x50*8 + 2, "int 50h past the idt limit: #GP(idt)"
    CHECK32 [VAR_EXC_EIP], .b4, "int 50h: eip = the int"
    mov eax, [IDT_BASE + 3*8 + 4]
    mov [VAR_SCRATCH], eax
    mov byte [IDT_BASE + 3*8 + 5], 0x80 | 0x12  ; present, S=1: a data descriptor
    SET_RECOVERY .b7
    int3
.b7:
    mov eax, [VAR_SCRATCH]
    mov [IDT_BASE + 3*8 + 4], eax
    CHECK_EXC 13, 3*8 + 2, "int3 through a non-gate descriptor: #GP(idt)"
%ifndef QEMU
    ; SDM Vol. 3A 6.13: EXT is set because the #NP happened while delivering #UD, an
    ; exception (not a software INT). QEMU 7.2 leaves EXT clear.
    GATE_P 6, 0
    SET_RECOVERY .b9
.b8:
    ud2
.b9:
    GATE_P 6, 1
    CHECK_EXC 11, 6*8 + 2 + 1, "#UD with gate 6 not present: #NP(idt, ext)"
    CHECK32 [VAR_EXC_EIP], .b8, "#UD, gate not present: eip = the ud2"
%endif

    ; ---------------- page fault + contributory -> #DF ----------------
    mov edi, PD_BASE
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [PD_BASE], 0x00000083 ; 4 MiB page at 0: present, writable, PS
    mov eax, cr4
    or eax, 0x10                    ; PSE
    mov cr4, eax
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg
.pg:
    GATE_P 14, 0
    SET_RECOVERY .c1
    mov eax, [0x400010]             ; #PF, gate 14 not present -> #NP -> #DF
.c1:
    GATE_P 14, 1
    CHECK_EXC 8, 0, "#PF with gate 14 not present: #DF(0)"
    mov eax, cr2
    CHECK32 eax, 0x400010, "#PF -> #DF: cr2"

    ; ---------------- page fault + page fault -> #DF through a task gate ----------------
    ; the #DF task: its own TSS, stack and code
    mov edi, DFTSS_BASE
    xor eax, eax
    mov ecx, 0x68 / 4
    rep stosd
    mov dword [DFTSS_BASE + 0x1c], PD_BASE      ; CR3
    mov dword [DFTSS_BASE + 0x20], df_task      ; EIP
    mov dword [DFTSS_BASE + 0x24], 2            ; EFLAGS
    mov dword [DFTSS_BASE + 0x38], DF_STACK     ; ESP
    mov dword [DFTSS_BASE + 0x48], SEL_DATA32   ; ES
    mov dword [DFTSS_BASE + 0x4c], SEL_CODE32   ; CS
    mov dword [DFTSS_BASE + 0x50], SEL_DATA32   ; SS
    mov dword [DFTSS_BASE + 0x54], SEL_DATA32   ; DS
    mov dword [DFTSS_BASE + 0x58], SEL_DATA32   ; FS
    mov dword [DFTSS_BASE + 0x5c], SEL_DATA32   ; GS
    mov word [DFTSS_BASE + 0x66], 0x68          ; no I/O bitmap
    mov dword [TSS_BASE + 0x1c], PD_BASE        ; CR3 loaded again on the way back
    SETDESC SEL_DFTSS, DFTSS_BASE, 0x67, ACC_TSS32, 0
    mov eax, [IDT_BASE + 8*8]
    mov [VAR_SCRATCH+8], eax
    mov eax, [IDT_BASE + 8*8 + 4]
    mov [VAR_SCRATCH+12], eax
    mov dword [IDT_BASE + 8*8], SEL_DFTSS << 16 ; task gate: selector
    mov dword [IDT_BASE + 8*8 + 4], 0x8500      ; present, DPL 0, task gate
    mov dword [R + 0x1c], 0                     ; #DF task runs
    mov dword [R + 0x20], .d1                   ; where it sends the old task
    mov dword [VAR_EXC_RECOVER], 0              ; the recorder must not run
    mov ebx, 0x13579bdf
    mov esp, 0x400100               ; stack page not present
.d0:
    mov eax, [0x800010]             ; #PF; pushing its frame (another page): #PF -> #DF
.d1:
    mov esp, STACK0_TOP
    mov eax, [VAR_SCRATCH+8]
    mov [IDT_BASE + 8*8], eax
    mov eax, [VAR_SCRATCH+12]
    mov [IDT_BASE + 8*8 + 4], eax
    CHECK_NO_EXC "#DF task: no exception through the recorder"
    CHECK32 [R + 0x1c], 1, "#DF task: ran once"
    CHECK32 [R], 0, "#DF task: error code 0"
    CHECK32 [R + 4], DF_STACK, "#DF task: error code pushed on its own stack"
    mov eax, [R + 8]
    and eax, FL_NT
    CHECK32 eax, FL_NT, "#DF task: nt set"
    CHECK16 [R + 0xc], SEL_DFTSS, "#DF task: tr"
    CHECK16 [R + 0x10], SEL_TSS, "#DF task: back link = the old tss"
    mov eax, [R + 0x14]
    and eax, 0xfffff000
    CHECK32 eax, 0x400000, "#DF task: cr2 = the second fault's, in the stack page"
    CHECK32 ebx, 0x13579bdf, "back from the #DF task: registers from the old tss"
    str ax
    CHECK16 ax, SEL_TSS, "back from the #DF task: tr"
    mov al, [GDT_BASE + SEL_DFTSS + 5]
    CHECK8 al, ACC_TSS32, "back from the #DF task: its tss not busy any more"
    pushfd
    pop eax
    and eax, FL_NT
    CHECK32 eax, 0, "back from the #DF task: nt clear"
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .pg_off
.pg_off:
    PASS

; The #DF task: records what it sees, points the old task's saved EIP at [R+0x20] and
; returns to it (IRET with NT=1: task return). A later #DF starts after the IRETD.
df_task:
    pop eax                         ; error code
    mov [R], eax
    mov [R + 4], esp
    pushfd
    pop eax
    mov [R + 8], eax
    str ax
    mov [R + 0xc], ax
    mov ax, [DFTSS_BASE]            ; back link
    mov [R + 0x10], ax
    mov eax, cr2
    mov [R + 0x14], eax
    mov eax, [TSS_BASE + 0x20]
    mov [R + 0x18], eax
    inc dword [R + 0x1c]
    mov eax, [R + 0x20]
    mov [TSS_BASE + 0x20], eax
    iretd
    jmp df_task

idtr_short: dw 0x1ff
            dd IDT_BASE
idtr_full:  dw IDT_LIMIT
            dd IDT_BASE


; triplefault.asm: a triple fault (shutdown) resets the machine; RAM survives the reset.
;
; SDM Vol. 3A 6.15 "Interrupt 8-Double Fault Exception (#DF)": "If another contributory
; or page fault exception occurs while attempting to call the double-fault handler, the
; processor enters shutdown mode" (on a PC the chipset then resets the processor);
; Vol. 3B "8086 Emulation", "Interrupt and Exception Handling" (real-address mode: the
; IDTR limit is checked, a vector past it gives #GP); Vol. 3A "Processor Management and
; Initialization", table "IA-32 and Intel 64 Processor States Following Power-up, Reset,
; or INIT".
;
; The ROM runs three times. A marker in RAM (linear 0x10000, addressed as 1000:0 through
; ES: magic, stage, ~stage) tells which run this is; RAM is all zeros at power-on, so the
; marker can only be found after a reset within this power-on.
;   run 1 (no marker): check the reset state, write stage 1, dirty the state that reset
;         must restore, LIDT limit 0 in real mode, INT3: #GP (vector past the limit) ->
;         #GP -> #DF -> shutdown.
;   run 2 (stage 1): check the reset state, write stage 2, enter 32-bit protected mode,
;         dirty CR0 (MP, NE, WP, AM), LIDT limit 0, INT3: #GP -> #GP -> #DF -> shutdown.
;   run 3 (stage 2): check the reset state, clear the marker, PASS.
; Reset state checked (the values that hold after power-up, RESET and INIT alike):
; CR0 = 60000010H except CD/NW (bits 30, 29: kept by INIT), so PE=PG=0; CR2=CR3=CR4=0;
; DR0-DR3 = 0, DR6 = FFFF0FF0H, DR7 = 400H; EAX = EBX = ECX = ESI = EDI = EBP = 0 and the
; upper half of ESP 0 (EDX holds the processor signature: not checked); FS = GS = 0;
; GDTR and IDTR base 0, limit FFFFH; CS = F000.
; (rom_reset has set SS, SP, DS, ES, AX and the flags before main, so those are not
; checked; main saves everything else before changing it.)
; Bochs: its debugger stops at every reset, so the run needs one "c" command per run
; (three) - see the report about run-reference.sh.
%include "rom.inc"

MARK_SEG    equ 0x1000          ; ES = 1000h: the marker at linear 0x10000
MARK        equ 0x0000          ; offsets in MARK_SEG
MAGIC       equ 0x50495254      ; "TRIP"
SAVE        equ 0x0100          ; registers at entry (linear 0x10100)

CODE16
main:
    ; save the registers before anything changes them (ES = 1000h; rom_reset set ES = 0)
    push word MARK_SEG              ; (no general register may change yet)
    pop es
    mov [es:SAVE + 0x00], eax
    mov [es:SAVE + 0x04], ebx
    mov [es:SAVE + 0x08], ecx
    mov [es:SAVE + 0x0c], esi
    mov [es:SAVE + 0x10], edi
    mov [es:SAVE + 0x14], ebp
    mov [es:SAVE + 0x18], esp
    mov [es:SAVE + 0x1c], fs
    mov [es:SAVE + 0x1e], gs
    mov eax, cr0
    mov [es:SAVE + 0x20], eax
    mov eax, cr2
    mov [es:SAVE + 0x24], eax
    mov eax, cr3
    mov [es:SAVE + 0x28], eax
    mov eax, cr4
    mov [es:SAVE + 0x2c], eax
    mov eax, dr0
    mov [es:SAVE + 0x30], eax
    mov eax, dr1
    mov [es:SAVE + 0x34], eax
    mov eax, dr2
    mov [es:SAVE + 0x38], eax
    mov eax, dr3
    mov [es:SAVE + 0x3c], eax
    mov eax, dr6
    mov [es:SAVE + 0x40], eax
    mov eax, dr7
    mov [es:SAVE + 0x44], eax
    sgdt [es:SAVE + 0x48]
    sidt [es:SAVE + 0x50]
    mov [es:SAVE + 0x58], cs

    cmp dword [es:MARK], MAGIC
    je .marked
    PRINT "triplefault: run 1 (power-on)", 10
    call check_reset
    mov dword [es:MARK], MAGIC
    mov dword [es:MARK + 4], 1
    mov dword [es:MARK + 8], ~1
    call dirty
    lidt [cs:idtr_zero]
    int3                            ; #GP -> #GP -> #DF -> shutdown
    FAIL "no reset after a triple fault in real mode"

.marked:
    mov eax, [es:MARK + 4]
    not eax
    cmp eax, [es:MARK + 8]
    je .stage_ok
    FAIL "marker corrupt"
.stage_ok:
    cmp dword [es:MARK + 4], 1
    jne .run3
    PRINT "triplefault: run 2 (after a real-mode triple fault)", 10
    call check_reset
    mov dword [es:MARK + 4], 2
    mov dword [es:MARK + 8], ~2
    call dirty
    ENTER_PM32 pm_triple
.run3:
    cmp dword [es:MARK + 4], 2
    je .run3_ok
    FAIL "marker: bad stage"
.run3_ok:
    PRINT "triplefault: run 3 (after a protected-mode triple fault)", 10
    call check_reset
    mov dword [es:MARK], 0
    mov dword [es:MARK + 4], 0
    mov dword [es:MARK + 8], 0
    PASS

; dirty: give the state a reset must restore other values (real mode)
dirty:
    mov eax, 0x11111111
    mov cr2, eax
    mov eax, 0x00005000
    mov cr3, eax
    mov eax, 0x10                   ; PSE
    mov cr4, eax
    mov eax, 0x12345678
    mov dr0, eax
    mov dr1, eax
    mov dr2, eax
    mov dr3, eax
    mov ax, 0x1234
    mov fs, ax
    mov gs, ax
    mov ebx, 0xbbbbbbbb
    mov ecx, 0xcccccccc
    mov esi, 0x55555555
    mov edi, 0xdddddddd
    mov ebp, 0xeeeeeeee
    mov eax, 0xaaaaaaaa
    or esp, 0x12340000              ; upper half of ESP (real mode uses SP only)
    ret

check_reset:
    mov eax, [es:SAVE + 0x20]
    and eax, 0x9fffffff
    CHECK32 eax, 0x00000010, "cr0 after reset (cd/nw not checked)"
    CHECK32 [es:SAVE + 0x24], 0, "cr2 after reset"
    CHECK32 [es:SAVE + 0x28], 0, "cr3 after reset"
    CHECK32 [es:SAVE + 0x2c], 0, "cr4 after reset"
    CHECK32 [es:SAVE + 0x30], 0, "dr0 after reset"
    CHECK32 [es:SAVE + 0x34], 0, "dr1 after reset"
    CHECK32 [es:SAVE + 0x38], 0, "dr2 after reset"
    CHECK32 [es:SAVE + 0x3c], 0, "dr3 after reset"
    CHECK32 [es:SAVE + 0x40], 0xffff0ff0, "dr6 after reset"
    CHECK32 [es:SAVE + 0x44], 0x00000400, "dr7 after reset"
    CHECK32 [es:SAVE + 0x00], 0, "eax after reset"
    CHECK32 [es:SAVE + 0x04], 0, "ebx after reset"
    CHECK32 [es:SAVE + 0x08], 0, "ecx after reset"
    CHECK32 [es:SAVE + 0x0c], 0, "esi after reset"
    CHECK32 [es:SAVE + 0x10], 0, "edi after reset"
    CHECK32 [es:SAVE + 0x14], 0, "ebp after reset"
    CHECK32 [es:SAVE + 0x18], STACK0_TOP, "esp after reset (upper half 0)"
    CHECK32 [es:SAVE + 0x1c], 0, "fs and gs after reset"
    CHECK16 [es:SAVE + 0x48], 0xffff, "gdtr limit after reset"
    CHECK32 [es:SAVE + 0x4a], 0, "gdtr base after reset"
    CHECK16 [es:SAVE + 0x50], 0xffff, "idtr limit after reset"
    CHECK32 [es:SAVE + 0x52], 0, "idtr base after reset"
    CHECK16 [es:SAVE + 0x58], 0xf000, "cs after reset"
    ret

idtr_zero: dw 0
           dd 0

CODE32
pm_triple:
    PRINT "triplefault: protected mode, cr0 dirty, lidt limit 0, int3", 10
    mov eax, cr0
    or eax, 0x00050022              ; MP, NE, WP, AM
    mov cr0, eax
    mov ax, SEL_DATA32
    mov fs, ax
    mov gs, ax
    mov ebx, 0xbbbbbbbb
    mov esp, 0x00006ff0
    lidt [idtr_zero32]
    int3                            ; #GP -> #GP -> #DF -> shutdown
    FAIL "no reset after a triple fault in protected mode"

idtr_zero32: dw 0
             dd 0

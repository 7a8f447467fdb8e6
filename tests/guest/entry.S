/* SPDX-License-Identifier: MIT */
/*
 * PVH entry point.  The VMM starts us in 32-bit flat protected mode with
 * paging off and %ebx = physical address of struct hvm_start_info; GDTR,
 * IDTR and the stack are undefined.  We load our own GDT, enable long mode
 * with a static identity map of the first 8 GiB (2 MiB pages; 3-4 GiB,
 * which holds the MMIO windows, is mapped uncached, the rest write-back:
 * 4-8 GiB is where RAM above 4 GiB and hot-plugged dimms appear), zero
 * .bss, set up the stack and call guest_main(start_info_paddr).
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE    0x00000001
#define CR0_PG    0x80000000
#define CR4_PAE   0x00000020
#define MSR_EFER  0xc0000080
#define EFER_LME  0x00000100

#define PTE_P     0x001
#define PTE_RW    0x002
#define PTE_PWT   0x008
#define PTE_PCD   0x010
#define PTE_PS    0x080

#define SEL_CODE64 0x08
#define SEL_DATA   0x10

/*
 * The Xen PVH note: name "Xen", type 18, the 32-bit entry address stored
 * as a 64-bit little-endian value (descsz 8), as Linux does in ELF64
 * images: QEMU reads 8 bytes on ELF64, readers taking 4 get the same.
 */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                         /* namesz */
    .long 8                         /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
    .asciz "Xen"
    .quad pvh_start32

    .section .text.entry, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %esi                 /* start_info: kept in %esi */
    lgdtl gdt_ptr
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $long_mode

    .code64
long_mode:
    /* Zero .bss (it holds the stack too); the loader should already
     * have, but this keeps us honest.  */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $3, %ecx
    xorl %eax, %eax
    rep stosq

    movq $stack_top, %rsp
    movl %esi, %edi                 /* zero-extends */
    call guest_main
1:  cli
    hlt
    jmp 1b

    .section .data.gdt, "aw"
    .balign 16
gdt:
    .quad 0                         /* null */
    .quad 0x00af9b000000ffff        /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf93000000ffff        /* 0x10: flat data */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

/*
 * Identity map of 0-8 GiB with 2 MiB pages; built at link time.  One PD
 * page per GiB; PD entries 1536-2047 (3-4 GiB: MMIO windows, LAPIC,
 * IOAPIC) are uncached, the others write-back.
 */
#define MAP_GIB 8
    .section .data.pagetables, "aw"
    .balign 4096
pml4:
    .quad pdpt + (PTE_P | PTE_RW)
    .fill 511, 8, 0
pdpt:
    .set i, 0
    .rept MAP_GIB
    .quad pd + (i << 12) + (PTE_P | PTE_RW)
    .set i, i + 1
    .endr
    .fill 512 - MAP_GIB, 8, 0
pd:
    .set i, 0
    .rept MAP_GIB * 512
    .if i >= 1536 && i < 2048
    .quad (i << 21) | (PTE_P | PTE_RW | PTE_PS | PTE_PCD | PTE_PWT)
    .else
    .quad (i << 21) | (PTE_P | PTE_RW | PTE_PS)
    .endif
    .set i, i + 1
    .endr

    .section .bss.stack, "aw", @nobits
    .balign 16
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits

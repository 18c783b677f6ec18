mod invitations;
mod isolation;
mod members;
mod organizations;
mod permissions;
